/**
 * The steps of the partitioned training-set build (`partitioned-training-set.ts`), each reading what
 * the one before stored through the {@link TrainingRunStore} port. The Step Functions workflow runs
 * them in Lambdas (`infra/cdk/constructs/distributed-training.ts`, S3 store); the in-process build runs
 * the same steps in turn over a {@link MemoryTrainingRunStore}.
 *
 * plan (coordinator) → links (worker per partition) → aliases (coordinator) → shuffle (worker per
 * partition) → candidates (worker per partition) → split (coordinator) → rows (worker per partition)
 * → assemble (coordinator), then the same training and promotion as the single-function run.
 *
 * Merged identities (the shuffle): partitions hold profile histories (the archive's buckets hash the
 * profile id: an anonymous profile sits in its `anonymousId`'s bucket, not its user's). The links pass
 * gathers every identify link (small: user, anonymous id, time, event id) and the partition's event
 * time extent; the aliases step applies the claim rule (`claimsOf`) over all of them, once; the
 * shuffle pass ships each claimed anonymous profile's events to the partition of its user ("foreign
 * events", one object per target and source partition). Every later pass of a partition reads its own
 * events plus the foreign events addressed to it, so it holds whole people.
 */
import type { ContractEvent } from '../contract/event-contract';
import { type RowSampleOptions, rowSampleRate, sampleRows } from './row-sample';
import {
  type AssembledPartition,
  assembleTrainingSet,
  claimsOf,
  extentOf,
  type IdentifyLink,
  identifyLinks,
  type PersonTimelines,
  partitionCandidates,
  partitionRows,
  planSplit,
  profileTimelines,
  type SplitPlan,
  stitchPersons,
  type TrainingSet,
  type TrainingSetOptions,
} from './training-set';

/** Events by partition, each partition holding whole profile histories. */
export interface PartitionedEventSource {
  /** Partition ids, e.g. the archive's bucket numbers. */
  partitions(): Promise<readonly number[]>;
  /** Every valid event of one partition (not de-duplicated). */
  readPartition(partition: number): Promise<readonly ContractEvent[]>;
}

/** What the links pass stores for one partition. */
export interface PartitionLinks {
  links: IdentifyLink[];
  /** Earliest and latest event time of the partition (±Infinity when empty). */
  extent: { fromMs: number; toMs: number };
}

/** The global alias map: who claimed each anonymous id, and the partition holding that user. */
export interface StoredAliases {
  /** `[anonymousId, userId, partition of the user]`. */
  claims: [string, string, number][];
  extent: { fromMs: number; toMs: number };
}

/** The coordinator's plan as every later step reads it. */
export interface StoredSplitPlan {
  plan: SplitPlan;
  /** Row-sample rate (1: no sample) and its seed. */
  sample: { rate: number; seed: number };
}

/** Where one run's intermediate results live (`training-runs/<runId>/…` in S3). */
export interface TrainingRunStore {
  putLinks(runId: string, partition: number, links: PartitionLinks): Promise<void>;
  getLinks(runId: string, partition: number): Promise<PartitionLinks>;
  putAliases(runId: string, aliases: StoredAliases): Promise<void>;
  getAliases(runId: string): Promise<StoredAliases>;
  /** Events of claimed anonymous profiles held by `source`, bound for the user's partition `target`. */
  putForeign(runId: string, target: number, source: number, events: readonly ContractEvent[]): Promise<void>;
  /** Every foreign event addressed to `target` (from any source; none is an empty list). */
  getForeign(runId: string, target: number): Promise<ContractEvent[]>;
  putCandidates(runId: string, partition: number, sorted: Float64Array): Promise<void>;
  getCandidates(runId: string, partition: number): Promise<Float64Array>;
  putPlan(runId: string, plan: StoredSplitPlan): Promise<void>;
  getPlan(runId: string): Promise<StoredSplitPlan>;
  putRows(runId: string, partition: number, rows: AssembledPartition): Promise<void>;
  getRows(runId: string, partition: number): Promise<AssembledPartition>;
}

/** What the plan step hands the workflow. */
export interface RunPlan {
  runId: string;
  partitions: number[];
}

/** One partition's step of a run. */
export interface PartitionStep {
  runId: string;
  partition: number;
}

/** Plan: the partitions of the run. */
export async function planRun(source: PartitionedEventSource, runId: string): Promise<RunPlan> {
  return { runId, partitions: [...(await source.partitions())] };
}

/** Worker, links pass: the partition's identify links and event-time extent, stored. */
export async function linksStep(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: PartitionStep,
): Promise<{ partition: number; links: number }> {
  const { byProfile } = profileTimelines(await source.readPartition(run.partition));
  const links = identifyLinks(byProfile);
  await store.putLinks(run.runId, run.partition, { links, extent: extentOf(byProfile) });
  return { partition: run.partition, links: links.length };
}

/** Coordinator: the claim rule over every partition's links (the global alias map), and the extent. */
export async function aliasesStep(store: TrainingRunStore, run: RunPlan): Promise<StoredAliases> {
  const all: IdentifyLink[] = [];
  const partitionOfUser = new Map<string, number>();
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (const partition of run.partitions) {
    const { links, extent } = await store.getLinks(run.runId, partition);
    for (const link of links) {
      all.push(link);
      partitionOfUser.set(link.userId, partition);
    }
    fromMs = Math.min(fromMs, extent.fromMs);
    toMs = Math.max(toMs, extent.toMs);
  }
  const claims: StoredAliases['claims'] = [];
  for (const [anonymousId, userId] of claimsOf(all)) {
    claims.push([anonymousId, userId, partitionOfUser.get(userId)!]);
  }
  const aliases = { claims, extent: { fromMs, toMs } };
  await store.putAliases(run.runId, aliases);
  return aliases;
}

/** Worker, shuffle pass: ship the partition's claimed anonymous profiles to their users' partitions. */
export async function shuffleStep(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: PartitionStep,
): Promise<{ partition: number; shipped: number }> {
  const target = new Map<string, number>();
  for (const [anonymousId, , partition] of (await store.getAliases(run.runId)).claims) {
    if (partition !== run.partition) target.set(anonymousId, partition);
  }
  const outgoing = new Map<number, ContractEvent[]>();
  for (const event of await source.readPartition(run.partition)) {
    if (event.userId !== undefined) continue;
    const to = target.get(event.anonymousId!);
    if (to === undefined) continue;
    const list = outgoing.get(to);
    if (list === undefined) outgoing.set(to, [event]);
    else list.push(event);
  }
  let shipped = 0;
  for (const [to, events] of outgoing) {
    await store.putForeign(run.runId, to, run.partition, events);
    shipped += events.length;
  }
  return { partition: run.partition, shipped };
}

/** A partition's people: its own events and the foreign events shipped to it, under the run's claims. */
async function peopleOf(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: PartitionStep,
): Promise<{ people: PersonTimelines; eventsIn: number; extent: StoredAliases['extent'] }> {
  const { claims, extent } = await store.getAliases(run.runId);
  const own = await source.readPartition(run.partition);
  const foreign = await store.getForeign(run.runId, run.partition);
  const claimed = new Map(claims.map(([anonymousId, userId]) => [anonymousId, userId]));
  const people = stitchPersons(profileTimelines([...own, ...foreign]), claimed);
  return { people, eventsIn: own.length, extent };
}

/** Worker, candidates pass: one partition's sorted candidate cutoffs, stored. */
export async function candidatesStep(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: PartitionStep,
  options: TrainingSetOptions,
): Promise<{ partition: number; candidates: number }> {
  const { people, extent } = await peopleOf(source, store, run);
  const { sorted } = partitionCandidates(people, extent.toMs, options);
  await store.putCandidates(run.runId, run.partition, sorted);
  return { partition: run.partition, candidates: sorted.length };
}

/** Coordinator: the split boundaries from every partition's candidates, and the sample rate. */
export async function splitStep(
  store: TrainingRunStore,
  run: RunPlan,
  options: TrainingSetOptions,
  rowSample?: RowSampleOptions,
): Promise<StoredSplitPlan> {
  const { extent } = await store.getAliases(run.runId);
  const sorted: Float64Array[] = [];
  for (const p of run.partitions) sorted.push(await store.getCandidates(run.runId, p));
  const plan = planSplit(sorted, extent, options);
  const stored = {
    plan,
    sample: {
      rate: rowSample === undefined ? 1 : rowSampleRate(plan.unpurgedCutoffs, rowSample),
      seed: rowSample?.seed ?? 42,
    },
  };
  await store.putPlan(run.runId, stored);
  return stored;
}

/** Worker, rows pass: one partition's (sampled) rows, stored. */
export async function rowsStep(
  source: PartitionedEventSource,
  store: TrainingRunStore,
  run: PartitionStep,
  options: TrainingSetOptions,
): Promise<{ partition: number; rows: number; rowsBefore: number }> {
  const { plan, sample } = await store.getPlan(run.runId);
  const { people, eventsIn } = await peopleOf(source, store, run);
  const candidates = partitionCandidates(people, plan.window.toMs, options);
  const built = partitionRows(people, candidates, plan, options);
  const rows = sampleRows(built, sample.rate, sample.seed);
  await store.putRows(run.runId, run.partition, { rows, eventsIn });
  return { partition: run.partition, rows: rows.rowMeta.length, rowsBefore: built.rowMeta.length };
}

/** Coordinator: every partition's rows as one training set. */
export async function assembleStep(
  store: TrainingRunStore,
  run: RunPlan,
  options: TrainingSetOptions,
): Promise<{ trainingSet: TrainingSet; sample: StoredSplitPlan['sample'] }> {
  const { plan, sample } = await store.getPlan(run.runId);
  const partitions: AssembledPartition[] = [];
  for (const p of run.partitions) partitions.push(await store.getRows(run.runId, p));
  return { trainingSet: assembleTrainingSet(partitions, plan, options), sample };
}

/**
 * A run store in memory, for the in-process build. Candidates, plan and rows are what the build holds
 * anyway; foreign events (the claimed anonymous profiles' events that cross partitions, ~6 % of the
 * synthetic workload's) are kept as JSON lines, about a third of their size as objects, until their
 * partition reads them.
 */
export class MemoryTrainingRunStore implements TrainingRunStore {
  private readonly links = new Map<number, PartitionLinks>();
  private aliases: StoredAliases | undefined;
  private readonly foreign = new Map<number, string[]>();
  private readonly candidates = new Map<number, Float64Array>();
  private plan: StoredSplitPlan | undefined;
  private readonly rows = new Map<number, AssembledPartition>();

  async putLinks(_runId: string, partition: number, links: PartitionLinks): Promise<void> {
    this.links.set(partition, links);
  }
  async getLinks(_runId: string, partition: number): Promise<PartitionLinks> {
    return required(this.links.get(partition), `links of partition ${partition}`);
  }
  async putAliases(_runId: string, aliases: StoredAliases): Promise<void> {
    this.aliases = aliases;
    // The links served their purpose: the aliases hold what later steps need.
    this.links.clear();
  }
  async getAliases(): Promise<StoredAliases> {
    return required(this.aliases, 'aliases');
  }
  async putForeign(_runId: string, target: number, _source: number, events: readonly ContractEvent[]) {
    const lines = this.foreign.get(target) ?? [];
    for (const event of events) lines.push(JSON.stringify(event));
    this.foreign.set(target, lines);
  }
  async getForeign(_runId: string, target: number): Promise<ContractEvent[]> {
    return (this.foreign.get(target) ?? []).map((line) => JSON.parse(line) as ContractEvent);
  }
  async putCandidates(_runId: string, partition: number, sorted: Float64Array): Promise<void> {
    this.candidates.set(partition, sorted);
  }
  async getCandidates(_runId: string, partition: number): Promise<Float64Array> {
    return required(this.candidates.get(partition), `candidates of partition ${partition}`);
  }
  async putPlan(_runId: string, plan: StoredSplitPlan): Promise<void> {
    this.plan = plan;
    this.candidates.clear();
  }
  async getPlan(): Promise<StoredSplitPlan> {
    return required(this.plan, 'plan');
  }
  async putRows(_runId: string, partition: number, rows: AssembledPartition): Promise<void> {
    this.rows.set(partition, rows);
  }
  async getRows(_runId: string, partition: number): Promise<AssembledPartition> {
    return required(this.rows.get(partition), `rows of partition ${partition}`);
  }
}

/** A run's step read before the step that writes it ran: a workflow bug, not bad data. */
export class MissingRunStep extends Error {
  override readonly name = 'MissingRunStep';
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new MissingRunStep(`training run store holds no ${what} yet`);
  return value;
}
