/**
 * The profile explorer's JSON API and static page over loopback, against a local pipeline on the real
 * emulators: what it answers must be what the reader library reads, and the table-wide figures what
 * the stored items hold.
 */
import { request } from 'node:http';
import { ProfileReader } from '../../../infra/client/profile-reader';
import { describeProfile } from '../../../infra/client/profile-view';
import { EXPLORER_CONTENT_SECURITY_POLICY } from '../../../infra/local/explorer/explorer-server';
import { scanProfiles } from '../../../infra/local/run-report';
import type {
  ProfileLookup,
  ScoreHistogram,
  AudienceSizes,
} from '../../../infra/local/explorer/explorer-api';
import {
  HOSTILE_CATEGORY,
  HOSTILE_PROFILE_ID,
  SCORED_AUDIENCES,
  SCORED_PROFILE_ID,
  SCORED_PROPENSITY,
  SCORED_TRAITS,
  startExplorerFixture,
  type ExplorerFixture,
} from '../../support/explorer-fixture';

/** A raw HTTP exchange, so the test controls the method and the Host header as a browser could not. */
function exchange(
  url: string,
  options: { method?: string; host?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: options.host === undefined ? {} : { Host: options.host },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('profile explorer API (local pipeline on the emulators)', () => {
  let fixture: ExplorerFixture;
  const api = (path: string) => new URL(path, fixture.explorer.url).toString();
  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(api(path));
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  };

  beforeAll(async () => {
    fixture = await startExplorerFixture();
  }, 120_000);

  afterAll(async () => {
    await fixture?.stop();
  });

  it('listens on loopback only', () => {
    expect(new URL(fixture.explorer.url).hostname).toBe('127.0.0.1');
  });

  it('answers a workload profile with the reader library’s view of it', async () => {
    // Prepare
    const profileId = fixture.workloadProfileIds[0]!;
    const reader = new ProfileReader(fixture.pipeline.cloud.clients.dynamodb, fixture.pipeline.tableName);
    const stored = await reader.getProfileWithItem(profileId);
    // Act
    const found = await getJson<ProfileLookup>(`/api/profile/${encodeURIComponent(profileId)}`);
    // Assess: the same view as `npm run profile -- get` (times aside: each read is "as of" its own now).
    const expected = describeProfile(stored!.profile, Date.now());
    expect(found.profile.counts).toEqual(expected.counts);
    expect(found.profile.recentProducts).toEqual(expected.recentProducts);
    expect(found.profile.orders).toEqual(expected.orders);
    expect(found.profile.score).toBe('unscored');
    expect(found.audiences).toEqual([]);
    // Whatever else the writer stored (traits, once it computes them) comes as stored; the state the view
    // already describes does not come twice.
    // Binary attributes (e.g. the risk fingerprints `fp`) travel as base64 in the JSON.
    const asJson = (value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
    for (const [name, value] of Object.entries(found.attributes))
      expect(asJson(stored!.item[name])).toEqual(value);
    for (const described of ['act', 'cat', 'views', 'orders', 'cart', 'seq', 'dedup', 'propensity'])
      expect(found.attributes).not.toHaveProperty(described);
  });

  it('gives the scores with reasons in words, the traits as plain attributes and the audiences', async () => {
    // Act
    const found = await getJson<ProfileLookup>(`/api/profile/${SCORED_PROFILE_ID}`);
    // Assess
    const { score } = found.profile;
    if (score === 'unscored') throw new Error('expected a scored profile');
    expect(score.propensity).toBe(SCORED_PROPENSITY);
    expect(score.churnRisk).toBe(0.1342);
    expect(score.modelVersion).toBe('v-test');
    expect(score.nextCategories?.[0]).toEqual({ category: HOSTILE_CATEGORY, probability: 0.6018 });
    expect(score.explanations?.purchase).toEqual([
      'add-to-cart activity over about the last hour raised the purchase probability (+1.44)',
      'number of search events lowered the purchase probability (-0.31)',
    ]);
    expect(score.explanations?.churn).toEqual([
      'time since the last purchase lowered the churn risk (-1.81)',
    ]);
    // The risk score every write stores comes along as a plain attribute too (the signals behind it are
    // bookkeeping, packed in `state` since item schema v5, which the view does not list).
    expect(found.attributes).toEqual({ ...SCORED_TRAITS, riskScore: expect.any(Number) });
    expect(found.audiences).toEqual([
      {
        audienceId: 'cart-abandoners',
        enteredAt: new Date(SCORED_AUDIENCES['cart-abandoners']).toISOString(),
      },
      { audienceId: 'high-intent', enteredAt: new Date(SCORED_AUDIENCES['high-intent']).toISOString() },
    ]);
    expect(found.profile.recentSearches).toEqual(['running shoes']);
  });

  it('finds a profile whose id is markup, percent-encoded in the path', async () => {
    const found = await getJson<ProfileLookup>(`/api/profile/${encodeURIComponent(HOSTILE_PROFILE_ID)}`);
    expect(found.profile.profileId).toBe(HOSTILE_PROFILE_ID);
  });

  it('counts audience members over the whole table', async () => {
    // Prepare
    const profiles = (await scanProfiles(fixture.pipeline)).length;
    // Act
    const sizes = await getJson<AudienceSizes>('/api/audiences');
    // Assess
    expect(sizes).toEqual({
      profiles,
      inAnyAudience: 2,
      audiences: [
        { audienceId: 'high-intent', members: 2 },
        { audienceId: 'cart-abandoners', members: 1 },
      ],
    });
  });

  it('bins every scored profile’s purchase probability and counts the unscored', async () => {
    // Prepare
    const profiles = await scanProfiles(fixture.pipeline);
    // Act
    const histogram = await getJson<ScoreHistogram>('/api/scores/histogram?bins=10');
    // Assess
    expect(histogram.bins).toHaveLength(10);
    expect(histogram.bins.map((b) => b.count)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(histogram.scored).toBe(2);
    expect(histogram.unscored).toBe(profiles.length - 2);
    expect(histogram.modelVersions).toEqual({ 'v-test': 2 });
    expect(histogram.highest).toEqual([
      { profileId: SCORED_PROFILE_ID, propensity: SCORED_PROPENSITY },
      { profileId: HOSTILE_PROFILE_ID, propensity: 0.05 },
    ]);
  });

  it('refuses bad requests with the field and the rule', async () => {
    const unknown = await exchange(api('/api/profile/nobody'));
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ field: 'profileId', rule: 'no profile with this id' });
    const badEncoding = await exchange(api('/api/profile/%E0%A4%A'));
    expect(badEncoding.status).toBe(400);
    expect(JSON.parse(badEncoding.body)).toMatchObject({ field: 'profileId' });
    const tooLong = await exchange(api(`/api/profile/${'x'.repeat(200)}`));
    expect(tooLong.status).toBe(400);
    const badBins = await exchange(api('/api/scores/histogram?bins=0'));
    expect(badBins.status).toBe(400);
    expect(JSON.parse(badBins.body)).toMatchObject({
      field: 'bins',
      rule: 'must be a whole number from 1 to 100',
    });
    const post = await exchange(api('/api/audiences'), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('answers only requests addressed to its own loopback names (DNS rebinding)', async () => {
    const port = new URL(fixture.explorer.url).port;
    const rebound = await exchange(api('/api/audiences'), { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(421);
    const byName = await exchange(api('/api/audiences'), { host: `localhost:${port}` });
    expect(byName.status).toBe(200);
  });

  it('serves the static page with a policy that allows nothing but its own files', async () => {
    for (const path of ['/', '/explorer.js', '/explorer.css', '/favicon.svg', '/api/audiences', '/nowhere']) {
      const response = await exchange(api(path));
      expect(response.headers['content-security-policy']).toBe(EXPLORER_CONTENT_SECURITY_POLICY);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
    const page = await exchange(api('/'));
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<script src="/explorer.js" defer></script>');
    // No external asset, no inline script or style for the policy to have to allow.
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page.body).not.toMatch(/<script>|<style|style="/);
    const script = await exchange(api('/explorer.js'));
    expect(script.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
