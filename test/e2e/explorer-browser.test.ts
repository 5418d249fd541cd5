/**
 * The profile explorer in a real headless Chromium (Debian's `chromium` package; `.ci/run` installs it):
 * the page loads, a lookup by URL renders the profile, producer-chosen markup stays text, and the
 * browser logs no console message. Chromium prints the DOM after the page's script has run
 * (`--dump-dom`, with a virtual-time budget that waits for the API calls) and its console on stderr.
 * Skips, saying why, only when no Chromium is installed.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  HOSTILE_PROFILE_ID,
  SCORED_PROFILE_ID,
  startExplorerFixture,
  type ExplorerFixture,
} from '../support/explorer-fixture';

/** The Chromium binary on PATH (or `CHROMIUM`), if any. */
function findChromium(): string | undefined {
  const candidates = process.env.CHROMIUM
    ? [process.env.CHROMIUM]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => path.join(dir, name)));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const CHROMIUM = findChromium();
/** Where the lookup's screenshot goes, to be looked at by eye. */
const SCREENSHOT = process.env.EXPLORER_SCREENSHOT ?? path.join(tmpdir(), 'explorer.png');
/** The page title the markup in the hostile id and category would change if it ever ran. */
const TITLE = '<title>profile-stream · profile explorer</title>';

if (CHROMIUM === undefined) {
  console.warn('explorer browser test skipped: no chromium on PATH (apt-get install -y chromium)');
}

interface PageVisit {
  /** The DOM after the page's script ran. */
  dom: string;
  /** Console messages the page logged (errors, warnings, CSP violations, uncaught exceptions). */
  console: string[];
}

/** Load `url` in headless Chromium; the DOM once the page settled, and what it logged. */
function visit(url: string, profileDir: string, screenshot?: string): Promise<PageVisit> {
  const args = [
    '--headless',
    // Root in a container has no user namespace for the sandbox; the page is our own, on loopback.
    '--no-sandbox',
    '--disable-gpu',
    `--user-data-dir=${profileDir}`,
    '--enable-logging=stderr',
    '--v=0',
    // INFO, the level Chromium logs console messages at.
    '--log-level=0',
    '--virtual-time-budget=10000',
    '--window-size=1280,1000',
    ...(screenshot === undefined ? [] : [`--screenshot=${screenshot}`]),
    '--dump-dom',
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM!, args, { timeout: 90_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      resolve({ dom: stdout, console: stderr.split('\n').filter((line) => line.includes(':CONSOLE')) });
    });
  });
}

/** The element with `id` in a dumped DOM, up to its first closing tag of its kind (entities kept). */
function elementById(dom: string, id: string): string {
  const match = new RegExp(`<(\\w+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(dom);
  if (match === null) throw new Error(`no element #${id} in the page`);
  return match[0];
}

(CHROMIUM === undefined ? describe.skip : describe)('profile explorer in headless Chromium', () => {
  let fixture: ExplorerFixture;
  const profileDir = mkdtempSync(path.join(tmpdir(), 'explorer-chromium-'));
  const page = (query = '') => `${fixture.explorer.url}${query}`;

  beforeAll(async () => {
    fixture = await startExplorerFixture();
  }, 120_000);

  afterAll(async () => {
    await fixture?.stop();
    rmSync(profileDir, { recursive: true, force: true });
  });

  it('sees console errors at all (the capture works in this Chromium)', async () => {
    const canary = await visit('data:text/html,<script>console.error("canary")</script>', profileDir);
    expect(canary.console.join('\n')).toContain('"canary"');
  });

  it('loads with the score distribution, the audience sizes and the highest-scored profiles', async () => {
    // Act
    const { dom, console: logged } = await visit(page(), profileDir);
    // Assess
    expect(logged).toEqual([]);
    expect(dom.match(/<div class="bar" title="[^"]+ profiles"/g)).toHaveLength(20);
    expect(elementById(dom, 'histogram-status')).toMatch(/2 scored, \d+ unscored · model v-test/);
    const audiences = elementById(dom, 'audiences');
    expect(audiences).toMatch(/<th>high-intent<\/th><td[^>]*>2<\/td>/);
    expect(audiences).toMatch(/<th>cart-abandoners<\/th><td[^>]*>1<\/td>/);
    expect(elementById(dom, 'highest')).toContain(`href="/?profile=${SCORED_PROFILE_ID}"`);
    expect(dom).toMatch(/<div id="profile" hidden="">/);
  });

  it('looks a profile up from the URL: scores, reasons in words, traits, audiences, recent products', async () => {
    // Act
    const { dom, console: logged } = await visit(
      page(`?profile=${SCORED_PROFILE_ID}`),
      profileDir,
      SCREENSHOT,
    );
    // Assess
    expect(logged).toEqual([]);
    expect(dom).not.toMatch(/<div id="profile" hidden/);
    expect(elementById(dom, 'profile-title')).toContain(`>${SCORED_PROFILE_ID}<`);
    expect(elementById(dom, 'scores')).toContain('87.3%');
    expect(elementById(dom, 'reasons')).toContain(
      'add-to-cart activity over about the last hour raised the purchase probability (+1.44)',
    );
    expect(elementById(dom, 'traits')).toMatch(/<th>rfm<\/th><td[^>]*>534<\/td>/);
    expect(elementById(dom, 'profile-audiences')).toContain('<th>cart-abandoners</th>');
    expect(elementById(dom, 'recent-products')).toContain('>p-7<');
    expect(elementById(dom, 'recent-searches')).toContain('>running shoes<');
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });

  it('shows a profile id and categories that are markup as text, and runs none of it', async () => {
    // Act
    const { dom, console: logged } = await visit(
      page(`?profile=${encodeURIComponent(HOSTILE_PROFILE_ID)}`),
      profileDir,
    );
    // Assess
    expect(logged).toEqual([]);
    expect(elementById(dom, 'profile-title')).toContain('&lt;img src=x onerror="document.title=1"&gt;');
    expect(elementById(dom, 'next-categories')).toContain('&lt;script&gt;document.title=2&lt;/script&gt;');
    // Neither an injected element nor a changed title: the markup stayed text.
    expect(dom).not.toMatch(/<img/);
    expect(dom.match(/<script/g)).toHaveLength(1);
    expect(dom).toContain(TITLE);
  });

  it('says so when no profile has the id', async () => {
    const { dom } = await visit(page('?profile=nobody'), profileDir);
    expect(elementById(dom, 'profile-status')).toContain('No profile nobody in the table.');
  });
});
