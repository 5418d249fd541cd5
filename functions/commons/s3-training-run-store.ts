import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ContractEvent } from '../../shared/contract/event-contract';
import type {
  PartitionLinks,
  StoredAliases,
  StoredSplitPlan,
  TrainingRunStore,
} from '../../shared/training/distributed-training';
import type { AssembledPartition } from '../../shared/training/training-set';

/** Prefix of every object of a training run (a lifecycle rule expires them). */
export const TRAINING_RUNS_PREFIX = 'training-runs';

const bytesOf = (view: ArrayBufferView) =>
  Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
const copyOf = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  // A fresh, aligned buffer: typed-array views need their element alignment.
  return new Uint8Array(bytes).buffer;
};

/**
 * One training run's intermediate results in S3, under `training-runs/<runId>/`: identify links
 * (`links/<p>.json.gz`), the alias map (`aliases.json.gz`), shipped events of claimed anonymous
 * profiles (`foreign/<target>/<source>.ndjson.gz`, the archive's own line format), candidate cutoffs as
 * raw little-endian float64 (`candidates/<p>.f64`), the plan as JSON, each partition's rows as gzipped
 * JSON whose typed arrays are base64 bytes (`rows/<p>.json.gz`; float32 features round-trip bit for bit).
 */
export class S3TrainingRunStore implements TrainingRunStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async putLinks(runId: string, partition: number, links: PartitionLinks): Promise<void> {
    await this.put(`${runId}/links/${partition}.json.gz`, gzipSync(JSON.stringify(links)));
  }

  async getLinks(runId: string, partition: number): Promise<PartitionLinks> {
    return this.getJson<PartitionLinks>(`${runId}/links/${partition}.json.gz`);
  }

  async putAliases(runId: string, aliases: StoredAliases): Promise<void> {
    await this.put(`${runId}/aliases.json.gz`, gzipSync(JSON.stringify(aliases)));
  }

  async getAliases(runId: string): Promise<StoredAliases> {
    return this.getJson<StoredAliases>(`${runId}/aliases.json.gz`);
  }

  async putForeign(runId: string, target: number, source: number, events: readonly ContractEvent[]) {
    const body = events.map((event) => JSON.stringify(event)).join('\n');
    await this.put(`${runId}/foreign/${target}/${source}.ndjson.gz`, gzipSync(body));
  }

  async getForeign(runId: string, target: number): Promise<ContractEvent[]> {
    const prefix = `${TRAINING_RUNS_PREFIX}/${runId}/foreign/${target}/`;
    const events: ContractEvent[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const { Key: key } of page.Contents ?? []) {
        const text = gunzipSync(await this.get(key!.slice(TRAINING_RUNS_PREFIX.length + 1))).toString('utf8');
        // Written by this run's shuffle from events the archive reader validated: parsed, not re-validated.
        for (const line of text.split('\n')) if (line !== '') events.push(JSON.parse(line) as ContractEvent);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return events;
  }

  async putCandidates(runId: string, partition: number, sorted: Float64Array): Promise<void> {
    await this.put(
      `${runId}/candidates/${partition}.f64`,
      new Uint8Array(sorted.buffer, 0, sorted.byteLength),
    );
  }

  async getCandidates(runId: string, partition: number): Promise<Float64Array> {
    const bytes = await this.get(`${runId}/candidates/${partition}.f64`);
    return new Float64Array(new Uint8Array(bytes).buffer);
  }

  async putPlan(runId: string, plan: StoredSplitPlan): Promise<void> {
    await this.put(`${runId}/plan.json`, JSON.stringify(plan));
  }

  async getPlan(runId: string): Promise<StoredSplitPlan> {
    return JSON.parse(Buffer.from(await this.get(`${runId}/plan.json`)).toString('utf8')) as StoredSplitPlan;
  }

  async putRows(runId: string, partition: number, { rows, eventsIn }: AssembledPartition): Promise<void> {
    const body = JSON.stringify({
      ...rows,
      eventsIn,
      features: bytesOf(rows.features),
      labels: bytesOf(rows.labels),
      churnLabels: bytesOf(rows.churnLabels),
      // JSON has no `undefined` in arrays: null stands for "no category".
      nextKeys: rows.nextKeys.map((key) => key ?? null),
      lastKeys: rows.lastKeys.map((key) => key ?? null),
    });
    await this.put(`${runId}/rows/${partition}.json.gz`, gzipSync(body));
  }

  async getRows(runId: string, partition: number): Promise<AssembledPartition> {
    const text = gunzipSync(await this.get(`${runId}/rows/${partition}.json.gz`)).toString('utf8');
    const { eventsIn, ...stored } = JSON.parse(text) as Record<string, unknown> & { eventsIn: number };
    const rows = stored as unknown as AssembledPartition['rows'] & Record<string, unknown>;
    return {
      eventsIn,
      rows: {
        ...rows,
        features: new Float32Array(copyOf(stored.features as string)),
        labels: new Uint8Array(copyOf(stored.labels as string)),
        churnLabels: new Uint8Array(copyOf(stored.churnLabels as string)),
        nextKeys: (stored.nextKeys as (string | null)[]).map((key) => key ?? undefined),
        lastKeys: (stored.lastKeys as (string | null)[]).map((key) => key ?? undefined),
      },
    };
  }

  private async getJson<T>(key: string): Promise<T> {
    return JSON.parse(gunzipSync(await this.get(key)).toString('utf8')) as T;
  }

  private async put(key: string, body: Uint8Array | string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: `${TRAINING_RUNS_PREFIX}/${key}`, Body: body }),
    );
  }

  private async get(key: string): Promise<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: `${TRAINING_RUNS_PREFIX}/${key}` }),
    );
    return out.Body!.transformToByteArray();
  }
}
