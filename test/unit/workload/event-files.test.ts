import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import {
  type EventFileLine,
  EventFileFormatError,
  readEventFile,
  TAOBAO_DIR,
  taobaoCsvPath,
} from '../../../infra/workload/event-files';
import { validateEvent } from '../../../shared/contract/event-contract';

const NOW = Date.UTC(2026, 10, 27);

async function collect(lines: AsyncIterable<EventFileLine>, limit = Infinity): Promise<EventFileLine[]> {
  const out: EventFileLine[] = [];
  for await (const line of lines) {
    if (out.length >= limit) break;
    out.push(line);
  }
  return out;
}

describe('readEventFile', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'event-files-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads NDJSON by content, skipping blank lines and reporting lines that are not objects', async () => {
    // Prepare
    const file = path.join(dir, 'events.txt');
    writeFileSync(file, '{"schemaVersion":1,"eventId":"e1"}\n\nnot json\n[1]\n');
    // Act
    const lines = await collect(readEventFile(file));
    // Assess
    expect(lines.map((l) => [l.kind, l.lineNo])).toEqual([
      ['event', 1],
      ['unparsable', 3],
      ['unparsable', 4],
    ]);
  });

  it('reads a .csv as Taobao rows and reports bad rows with the column', async () => {
    // Prepare
    const file = path.join(dir, 'rows.csv');
    writeFileSync(file, '1,2,3,pv,1511658000\r\n1,2,3,buy,later\r\n');
    // Act
    const [good, bad] = await collect(readEventFile(file));
    // Assess
    expect(good).toMatchObject({ kind: 'event', event: { type: 'product_view', userId: '1' } });
    expect(bad).toMatchObject({ kind: 'unparsable', lineNo: 2, reason: expect.stringMatching(/timestamp/) });
  });

  it('refuses a file whose format it cannot tell', async () => {
    // Prepare
    const file = path.join(dir, 'mystery.dat');
    writeFileSync(file, 'hello\n');
    // Act & Assess
    await expect(collect(readEventFile(file))).rejects.toBeInstanceOf(EventFileFormatError);
  });
});

describe('the Taobao excerpt', () => {
  const csv = taobaoCsvPath();

  it('maps its first 1000 rows to valid, distinct contract events when present, and is reported absent otherwise', async () => {
    if (csv === undefined) {
      // Absent on this machine: the resolver must say so rather than point at a missing file.
      expect(existsSync(path.join(TAOBAO_DIR, 'UserBehavior.csv'))).toBe(false);
      return;
    }
    // Act
    const lines = await collect(readEventFile(csv), 1000);
    // Assess
    expect(lines).toHaveLength(1000);
    const events = lines.map((l) => {
      if (l.kind !== 'event') throw new Error(`line ${l.lineNo}: ${l.reason}`);
      return validateEvent(l.event, NOW).event;
    });
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1000);
    expect(events.every((e, i) => i === 0 || e.occurredAt >= events[i - 1]!.occurredAt)).toBe(true);
    expect(new Set(events.map((e) => e.type))).toContain('product_view');
  });
});
