import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * Run a TypeScript entry point of the repo as `npm run …` does (through tsx), and return its stdout.
 *
 * @param env - variables over this process's environment (Jest's `process.env` is the test's own copy,
 *   which a child does not inherit) @default {}
 */
export async function runRepoScript(
  script: string,
  args: readonly string[],
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), script, ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return stdout;
}
