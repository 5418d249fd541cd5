/**
 * The profile explorer `npm start -- --serve` serves on loopback: a static page (./page) and the JSON API
 * it reads (`/api/profile/:id`, `/api/audiences`, `/api/scores/histogram`). The page renders every value
 * as text, and the headers forbid anything but this origin's own script and style (profile ids,
 * categories and search terms come from producers: nothing of theirs may run).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEFAULT_HISTOGRAM_BINS, ExplorerApi, HistogramRequestError } from './explorer-api';

/** Where the explorer listens: loopback only, never another interface. */
export const EXPLORER_HOST = '127.0.0.1';

/**
 * Only this origin's files: no inline script or style, no external asset, no framing, no form posts
 * elsewhere. `style-src 'self'` still lets the page's script size the histogram's bars (CSSOM).
 */
export const EXPLORER_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'Content-Security-Policy': EXPLORER_CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
} as const;

/** The page's files, read once at start: path → [content type, body]. */
const PAGE_DIR = path.join(__dirname, 'page');
const STATIC_FILES: Record<string, readonly [string, string]> = {
  '/': ['text/html; charset=utf-8', 'index.html'],
  '/explorer.js': ['text/javascript; charset=utf-8', 'explorer.js'],
  '/explorer.css': ['text/css; charset=utf-8', 'explorer.css'],
  '/favicon.svg': ['image/svg+xml', 'favicon.svg'],
};

/** What `startProfileExplorer` needs. */
export interface ProfileExplorerOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Loopback port; 0 picks a free one. @default 0 */
  port?: number;
}

/** A running explorer. */
export interface ProfileExplorer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  stop(): Promise<void>;
}

/** A request the API refuses: the HTTP status, the field and the rule. */
class ExplorerRequestError extends Error {
  override readonly name = 'ExplorerRequestError';
  constructor(
    readonly status: number,
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}

/** Start the explorer on loopback over the profiles table `tableName`. */
export async function startProfileExplorer(options: ProfileExplorerOptions): Promise<ProfileExplorer> {
  const api = new ExplorerApi(options.dynamodb, options.tableName);
  const files = new Map(
    Object.entries(STATIC_FILES).map(([route, [type, file]]) => [
      route,
      { type, body: readFileSync(path.join(PAGE_DIR, file)) },
    ]),
  );
  let allowedHosts: ReadonlySet<string> = new Set();

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const refusal =
        error instanceof HistogramRequestError
          ? new ExplorerRequestError(400, error.field, error.rule)
          : error instanceof ExplorerRequestError
            ? error
            : undefined;
      if (refusal !== undefined) {
        send(
          response,
          refusal.status,
          json({ error: refusal.name, field: refusal.field, rule: refusal.rule }),
        );
        return;
      }
      // Unexpected (an unreadable item, the emulator gone): the operator sees it in the terminal too.
      console.error('profile explorer:', error);
      const name = error instanceof Error ? error.name : 'Error';
      send(
        response,
        500,
        json({ error: name, message: error instanceof Error ? error.message : String(error) }),
      );
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A page elsewhere could point a name it controls at 127.0.0.1 (DNS rebinding) and read the
    // profiles as same-origin: only requests addressed to this server by its own names are answered.
    if (!allowedHosts.has(request.headers.host ?? '')) {
      throw new ExplorerRequestError(421, 'Host', `must be one of ${[...allowedHosts].join(', ')}`);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      throw new ExplorerRequestError(405, 'method', 'must be GET or HEAD');
    }
    const url = new URL(request.url ?? '/', 'http://explorer.invalid');
    const file = files.get(url.pathname);
    if (file !== undefined) return send(response, 200, { type: file.type, body: file.body });
    if (url.pathname.startsWith('/api/profile/')) {
      const profileId = decodeProfileId(url.pathname.slice('/api/profile/'.length));
      const found = await api.profile(profileId);
      if (found === undefined) throw new ExplorerRequestError(404, 'profileId', 'no profile with this id');
      return send(response, 200, json(found));
    }
    if (url.pathname === '/api/audiences') return send(response, 200, json(await api.audienceSizes()));
    if (url.pathname === '/api/scores/histogram') {
      const bins = url.searchParams.get('bins');
      return send(
        response,
        200,
        json(await api.scoreHistogram(bins === null ? DEFAULT_HISTOGRAM_BINS : Number(bins))),
      );
    }
    throw new ExplorerRequestError(404, 'path', 'no such page or API');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, EXPLORER_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  allowedHosts = new Set([`${EXPLORER_HOST}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${EXPLORER_HOST}:${port}/`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The longest profile id accepted: `anon:` plus the contract's 128-character anonymousId. */
const MAX_PROFILE_ID_LENGTH = 5 + 128;

function decodeProfileId(encoded: string): string {
  let profileId: string;
  try {
    profileId = decodeURIComponent(encoded);
  } catch {
    throw new ExplorerRequestError(400, 'profileId', 'must be percent-encoded UTF-8');
  }
  if (profileId.length === 0 || profileId.length > MAX_PROFILE_ID_LENGTH) {
    throw new ExplorerRequestError(400, 'profileId', `must be 1 to ${MAX_PROFILE_ID_LENGTH} characters`);
  }
  return profileId;
}

const json = (value: unknown) => ({
  type: 'application/json; charset=utf-8',
  body: Buffer.from(JSON.stringify(value)),
});

function send(response: ServerResponse, status: number, content: { type: string; body: Buffer }): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': content.type,
    'Content-Length': content.body.byteLength,
  });
  response.end(response.req.method === 'HEAD' ? undefined : content.body);
}
