/**
 * Part 4: the cost per profile of the computed traits and of evaluating the built-in audiences, beside
 * the cost of encoding the same profile's item (the baseline, measured in the same runs, alternating),
 * on the profiles the compute pass (part 1) wrote, each with every model output filled (so the
 * probability, next-category and look-alike conditions run) and a 16-value recent-buyers centroid.
 */
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import { profileExtrasOf } from '../../shared/audiences/profile-extras';
import type { StoredProfileItem } from '../../shared/ingest/ingest-ports';
import { createRandom } from '../../shared/model/seeded-random';
import { decodeProfileItem, encodeProfileItem } from '../../shared/profile/profile-item-codec';
import { computeTraits, DEFAULT_POPULATION, type PopulationStats } from '../../shared/traits/computed-traits';
import { median, type ResultRow } from './bench-report';
import { simulatedFullScore } from './item-size-bench';

/** What part 4 measured, in nanoseconds per profile (medians over the runs). */
export interface AudienceBenchResult {
  profiles: number;
  runs: number;
  encodeNsPerProfile: number;
  traitsNsPerProfile: number;
  traitsAndAudiencesNsPerProfile: number;
  /** Share of profiles in at least one built-in audience. */
  memberShare: number;
}

/** Time `fn` over every profile, ns per profile. */
function nsPerProfile(count: number, fn: (i: number) => unknown): number {
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) if (fn(i) !== undefined) sink++;
  const ns = Number(process.hrtime.bigint() - started);
  if (sink < 0) throw new Error('unreachable: keeps the results alive');
  return ns / count;
}

/** Run part 4 over `items` (as the compute pass wrote them). */
export function runAudienceBench(items: readonly StoredProfileItem[], runs = 5): AudienceBenchResult {
  const random = createRandom(20261201);
  const profiles = items.map((item) => {
    const { state, version, score } = decodeProfileItem(item);
    const base = {
      propensity: score?.propensity ?? random(),
      modelVersion: 'bench',
      scoredAt: state.lastEventAt,
    };
    return { state, version, score: simulatedFullScore(state, base, random) };
  });
  const population: PopulationStats = {
    ...DEFAULT_POPULATION,
    centroids: { 'recent-buyers': Array.from({ length: 16 }, () => random() * 2 - 1) },
  };
  const set = compileAudienceSet(BUILT_IN_AUDIENCES);
  const n = profiles.length;
  const extras = (i: number) =>
    profileExtrasOf(profiles[i]!.state, profiles[i]!.score, population, set, undefined);
  const encode = (i: number) => encodeProfileItem(profiles[i]!.state, profiles[i]!);
  const traits = (i: number) => computeTraits(profiles[i]!.state, { population });
  // One untimed pass of each, then alternating timed runs.
  for (const fn of [encode, traits, extras]) nsPerProfile(n, fn);
  const timings = { encode: [] as number[], traits: [] as number[], extras: [] as number[] };
  for (let run = 0; run < runs; run++) {
    timings.encode.push(nsPerProfile(n, encode));
    timings.traits.push(nsPerProfile(n, traits));
    timings.extras.push(nsPerProfile(n, extras));
  }
  let members = 0;
  for (let i = 0; i < n; i++) if (Object.keys(extras(i).audiences ?? {}).length > 0) members++;
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  return {
    profiles: n,
    runs,
    encodeNsPerProfile: median(sorted(timings.encode)),
    traitsNsPerProfile: median(sorted(timings.traits)),
    traitsAndAudiencesNsPerProfile: median(sorted(timings.extras)),
    memberShare: members / n,
  };
}

/** The table rows of part 4. */
export function audienceRows(result: AudienceBenchResult): ResultRow[] {
  const section = '4 audiences';
  const us = (ns: number) => ns / 1000;
  const ratio = (ns: number) => `${(ns / result.encodeNsPerProfile).toFixed(2)}× item encode`;
  return [
    {
      section,
      metric: `item encode per profile (baseline, ${result.profiles} profiles)`,
      value: us(result.encodeNsPerProfile),
      unit: 'µs',
      note: `median of ${result.runs} runs, alternating with the rows below`,
    },
    {
      section,
      metric: 'computed traits per profile',
      value: us(result.traitsNsPerProfile),
      unit: 'µs',
      ratio: ratio(result.traitsNsPerProfile),
    },
    {
      section,
      metric: `traits + ${BUILT_IN_AUDIENCES.audiences.length} built-in audiences per profile`,
      value: us(result.traitsAndAudiencesNsPerProfile),
      unit: 'µs',
      ratio: ratio(result.traitsAndAudiencesNsPerProfile),
      note: `${(result.memberShare * 100).toFixed(1)} % of profiles in at least one`,
    },
  ];
}
