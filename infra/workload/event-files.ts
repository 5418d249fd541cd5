/**
 * Reading event files from disk, line by line (files can be far larger than memory wants):
 * NDJSON of contract events, or the Taobao UserBehavior CSV.
 */
import { createReadStream, existsSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

import type { EventInput } from '../../shared/contract/event-contract';
import { parseTaobaoLine, TaobaoParseError } from './taobao';

/** File formats {@link readEventFile} understands; `auto` decides by extension, then by the first line. */
export const EVENT_FILE_FORMATS = ['ndjson', 'taobao', 'auto'] as const;
/** One of {@link EVENT_FILE_FORMATS}. */
export type EventFileFormat = (typeof EVENT_FILE_FORMATS)[number];

/** One non-blank line of an event file. */
export type EventFileLine =
  /**
   * An event to publish. From NDJSON it is any JSON object, not yet checked against the contract:
   * the producer validates before sending, exactly as the consumer will.
   */
  | { kind: 'event'; lineNo: number; event: EventInput }
  /** A line that is not an event at all (not JSON, not an object, a bad CSV row). */
  | { kind: 'unparsable'; lineNo: number; line: string; reason: string };

/** Raised when a file's format cannot be told from its name or first line. */
export class EventFileFormatError extends Error {
  override readonly name = 'EventFileFormatError';
  constructor(
    readonly filePath: string,
    readonly rule: string,
  ) {
    super(`${filePath}: ${rule}`);
  }
}

const REPO_ROOT = path.resolve(__dirname, '../..');
/** Where the Taobao excerpt lives: beside the repository, never inside it. */
export const TAOBAO_DIR = path.resolve(REPO_ROOT, '../shared/data/taobao-userbehavior');

/** Path of `UserBehavior.csv`, or `undefined` when the data is not on this machine (callers skip). */
export function taobaoCsvPath(dir: string = TAOBAO_DIR): string | undefined {
  const file = path.join(dir, 'UserBehavior.csv');
  return existsSync(file) ? file : undefined;
}

const TAOBAO_ROW = /^\d+,\d+,\d+,[a-z]+,\d+\r?$/;

function formatFromName(filePath: string): Exclude<EventFileFormat, 'auto'> | undefined {
  const ext = path.extname(filePath).toLowerCase();
  if (ext === '.csv') return 'taobao';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  return undefined;
}

function formatFromLine(line: string): Exclude<EventFileFormat, 'auto'> | undefined {
  if (line.trimStart().startsWith('{')) return 'ndjson';
  if (TAOBAO_ROW.test(line.trim())) return 'taobao';
  return undefined;
}

function parseNdjsonLine(line: string, lineNo: number): EventFileLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const reason = error instanceof SyntaxError ? error.message : 'not JSON';
    return { kind: 'unparsable', lineNo, line, reason: `not JSON: ${reason}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'unparsable', lineNo, line, reason: 'not a JSON object' };
  }
  return { kind: 'event', lineNo, event: value as EventInput };
}

function parseCsvLine(line: string, lineNo: number): EventFileLine {
  try {
    return { kind: 'event', lineNo, event: parseTaobaoLine(line, lineNo) };
  } catch (error) {
    if (!(error instanceof TaobaoParseError)) throw error;
    return { kind: 'unparsable', lineNo, line, reason: error.message };
  }
}

/**
 * Stream the events of a file, one per non-blank line, in file order.
 *
 * @param format - how to read the file. @default 'auto'
 * @throws {EventFileFormatError} when `auto` cannot tell the format
 */
export async function* readEventFile(
  filePath: string,
  format: EventFileFormat = 'auto',
): AsyncGenerator<EventFileLine> {
  let resolved = format === 'auto' ? formatFromName(filePath) : format;
  const lines = createInterface({ input: createReadStream(filePath, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      if (resolved === undefined) {
        resolved = formatFromLine(line);
        if (resolved === undefined) {
          throw new EventFileFormatError(filePath, 'cannot tell the format: use --format ndjson or taobao');
        }
      }
      yield resolved === 'ndjson' ? parseNdjsonLine(line, lineNo) : parseCsvLine(line, lineNo);
    }
  } finally {
    lines.close();
  }
}
