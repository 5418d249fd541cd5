/**
 * What `npm run audience -- list | size | members | export` do, against any S3 and DynamoDB clients
 * (the local cloud's or AWS's): the CLI parses options and prints; tests call these directly.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDbAudienceIndex, MembersPage } from '../../functions/commons/dynamodb-audience-index';
import type { S3AudiencePublisher } from '../../functions/commons/s3-audience-definitions';

/** One published audience with its size from the index. */
export interface AudienceListing {
  id: string;
  description: string;
  size: number;
}

/** The serving set's audiences with their sizes (one counting Query each); empty when none is published. */
export async function listAudiences(
  definitions: Pick<S3AudiencePublisher, 'currentSet'>,
  index: Pick<DynamoDbAudienceIndex, 'size'>,
): Promise<{ version: string | undefined; audiences: AudienceListing[] }> {
  const current = await definitions.currentSet();
  if (current === undefined) return { version: undefined, audiences: [] };
  const audiences = await Promise.all(
    current.set.audiences.map(async (a) => ({
      id: a.id,
      description: a.description,
      size: await index.size(a.id),
    })),
  );
  return { version: current.version, audiences };
}

/** The export's S3 key: `exports/<audience>/<timestamp>.ndjson` (one member per line). */
export function exportKey(audienceId: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
  return `exports/${encodeURIComponent(audienceId)}/${stamp}.ndjson`;
}

/**
 * Write every member of `audienceId` to S3 as NDJSON (`{"profileId","enteredAt","version"}` per line),
 * paging through the index; resolves with the key and the count.
 */
export async function exportAudience(
  index: Pick<DynamoDbAudienceIndex, 'allMembers'>,
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  audienceId: string,
  nowMs: number,
): Promise<{ key: string; members: number }> {
  const lines: string[] = [];
  for await (const page of index.allMembers(audienceId))
    for (const member of page) lines.push(JSON.stringify(member));
  const key = exportKey(audienceId, nowMs);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: lines.length === 0 ? '' : `${lines.join('\n')}\n`,
      ContentType: 'application/x-ndjson',
    }),
  );
  return { key, members: lines.length };
}

/** A page of members as printed: one profile per line, then the next page's token. */
export function formatMembersPage(page: MembersPage): string {
  const rows = page.members.map(
    (m) => `${m.profileId}\t${new Date(m.enteredAt).toISOString()}\tv${m.version}`,
  );
  return [...rows, page.next === undefined ? '(last page)' : `next page: --page ${page.next}`].join('\n');
}
