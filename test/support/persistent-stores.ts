/**
 * Everything a local pipeline keeps at rest, as text a test can search: every object of every bucket
 * (gunzipped) and every item of the table, with the base64 and JSON-in-a-string layers a reader from
 * outside would peel (quarantine `dataBase64`, on-failure `payload` → `Records[].kinesis.data`) opened.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import type { LocalPipeline } from '../../infra/local/local-pipeline';

/** One stored object or item, opened. */
export interface StoredText {
  /** Bucket role (`quarantine`, `archive`, `models`, `failures`) or `table`. */
  store: string;
  /** Object key or profile id. */
  key: string;
  /** The content with every nested layer appended. */
  text: string;
}

const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/;

/** The text of `value` plus, recursively, what its base64 strings and JSON strings hold. */
export function openLayers(text: string, depth = 0): string {
  if (depth > 4) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // NDJSON: each line on its own.
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    return lines.length > 1 ? lines.map((l) => openLayers(l, depth)).join('\n') : text;
  }
  const nested: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (BASE64.test(value))
        nested.push(openLayers(Buffer.from(value, 'base64').toString('latin1'), depth + 1));
      else if (/^\s*[[{]/.test(value)) nested.push(openLayers(value, depth + 1));
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(parsed);
  return [text, ...nested].join('\n');
}

/** Read every bucket object and table item the pipeline holds. */
export async function readEveryStore(pipeline: LocalPipeline): Promise<StoredText[]> {
  const { s3, dynamodb } = pipeline.cloud.clients;
  const stored: StoredText[] = [];
  for (const [store, bucket] of Object.entries(pipeline.buckets)) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
        let bytes = Buffer.from(await body.Body!.transformToByteArray());
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
        stored.push({ store, key: object.Key!, text: openLayers(bytes.toString('latin1')) });
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
  }
  let start: Record<string, never> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({ TableName: pipeline.tableName, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const text = JSON.stringify(item, (_k, v: unknown) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
      );
      stored.push({ store: 'table', key: item.profileId?.S ?? '?', text });
    }
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start !== undefined);
  return stored;
}

/** The stored texts that contain any of `needles`, with the needles each one holds. */
export function findNeedles(
  stored: readonly StoredText[],
  needles: Iterable<string>,
): { store: string; key: string; found: string[] }[] {
  const list = [...needles];
  return stored
    .map(({ store, key, text }) => ({ store, key, found: list.filter((n) => text.includes(n)) }))
    .filter((hit) => hit.found.length > 0);
}
