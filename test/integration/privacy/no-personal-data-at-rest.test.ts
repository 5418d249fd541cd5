/**
 * "No personal data at rest": the synthetic workload (which puts ip, user agent and e-mail into the
 * context of some events, and malforms some of those) runs through the local pipeline — ingest,
 * archive, the scheduled training — and then no object of any bucket (quarantine, archive, models,
 * failures), no item of the table and no log line holds any of its e-mail addresses, user agents or ips.
 * The run pseudonymises ids (stack parameter `pseudonymiseIds`): the table, the archive, the models and
 * the logs hold no raw userId or anonymousId either, and the reader library and the profile CLI still
 * find a profile by its raw id.
 */
import { ProfileReader } from '../../../infra/client/profile-reader';
import { readQuarantine } from '../../../infra/local/run-report';
import { decodePrivacyOf, type LocalPipeline } from '../../../infra/local/local-pipeline';
import { pseudonymousProfileId } from '../../../shared/privacy/pseudonymise';
import { injectFaults } from '../../../infra/workload/fault-injection';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { startPipelineWithRecords } from '../../support/local-pipeline-fixture';
import { findNeedles, readEveryStore } from '../../support/persistent-stores';
import { runRepoScript } from '../../support/run-repo-script';

describe('no personal data at rest after a local run', () => {
  const workload = generateWorkload({ seed: 11, users: 1000, days: 5 });
  const { records, manifest } = injectFaults(workload.events, {
    nowMs: Date.now(),
    seed: 11,
    malformedRate: 0.05,
  });
  const personal = { email: new Set<string>(), userAgent: new Set<string>(), ip: new Set<string>() };
  for (const event of workload.events) {
    const context = event.context ?? {};
    if (context.email !== undefined) personal.email.add(context.email);
    if (context.userAgent !== undefined) personal.userAgent.add(context.userAgent);
    if (context.ip !== undefined) personal.ip.add(`"${context.ip}"`);
  }
  const needles = [...personal.email, ...personal.userAgent, ...personal.ip];
  // Quoted, as JSON holds them: `"u-1"` does not match inside `"u-12"` or a hex pseudonym.
  const rawIds = new Set<string>();
  for (const event of workload.events) {
    if (event.userId !== undefined) rawIds.add(`"${event.userId}"`);
    if (event.anonymousId !== undefined) rawIds.add(`"${event.anonymousId}"`);
  }
  const registered = workload.events.find((e) => e.userId !== undefined)?.userId as string;
  let pipeline: LocalPipeline;
  const logs: string[] = [];
  let training: unknown;
  // Read once (about 15 s on a busy machine) for both checks below.
  let everyStore: ReturnType<typeof readEveryStore> | undefined;
  const readStores = () => (everyStore ??= readEveryStore(pipeline));

  beforeAll(async () => {
    const spy = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk) => logs.push(String(chunk)) > 0);
    try {
      pipeline = await startPipelineWithRecords(records, {
        withArchive: true,
        stackParameters: { pseudonymiseIds: true },
        drainTimeoutMs: 180_000,
        environment: { POWERTOOLS_LOG_LEVEL: 'DEBUG', LABEL_HORIZON_HOURS: '12' },
      });
      training = await pipeline.invoke('train', { source: 'aws.events', 'detail-type': 'Scheduled Event' });
    } finally {
      spy.mockRestore();
    }
  }, 240_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('publishes personal data, some of it in records the quarantine keeps', () => {
    // Prepare: the check below means something only if the input holds what it looks for.
    const text = (i: number) => Buffer.from(records[i]!.data).toString('latin1');
    const malformedWithPersonalData = manifest.malformed.filter((m) =>
      needles.some((n) => text(m.recordIndex).includes(n)),
    );
    // Assess
    expect(personal.email.size).toBeGreaterThan(5);
    expect(personal.userAgent.size).toBeGreaterThan(1);
    expect(personal.ip.size).toBeGreaterThan(5);
    expect(malformedWithPersonalData.length).toBeGreaterThan(3);
  });

  it('keeps none of it in any store: table, quarantine, archive, models, failures', async () => {
    // Act
    const stored = await readStores();
    // Assess
    expect(training).toMatchObject({ promoted: true });
    expect(new Set(stored.map((s) => s.store))).toEqual(
      new Set(['table', 'quarantine', 'archive', 'models']),
    );
    expect(findNeedles(stored, needles)).toEqual([]);
    const quarantined = await readQuarantine(pipeline);
    // A batch redelivered after a failed profile (e.g. one frozen meanwhile by an identify on the other
    // shard) quarantines its refused records again: the same records, counted once (as `npm start` does).
    const distinct = new Set(quarantined.map((q) => `${q.shardId}:${q.sequenceNumber}`));
    expect(distinct.size).toBe(manifest.malformed.length);
    expect(
      quarantined.filter((q) => (q as { personalFieldsRemoved?: number }).personalFieldsRemoved! > 0).length,
    ).toBeGreaterThan(3);
  });

  it('writes none of it to the logs, nor any raw id', () => {
    expect(logs.length).toBeGreaterThan(0);
    expect(needles.filter((n) => logs.some((line) => line.includes(n)))).toEqual([]);
    expect([...rawIds].filter((id) => logs.some((line) => line.includes(id)))).toEqual([]);
  });

  it('keeps no raw userId or anonymousId in the table, archive or models', async () => {
    // Act: the quarantine keeps refused bytes for repair (raw ids included) and is left out.
    const stored = (await readStores()).filter((s) => s.store !== 'quarantine');

    // Assess
    expect(rawIds.size).toBeGreaterThan(100);
    expect(stored.filter((s) => s.store === 'table').length).toBeGreaterThan(100);
    expect(findNeedles(stored, rawIds)).toEqual([]);
  });

  it('finds a profile by its raw id through the reader library and the profile CLI', async () => {
    // Prepare
    const { hasher } = decodePrivacyOf(pipeline);
    const { dynamodb } = pipeline.cloud.clients;

    // Act
    const byRawId = await new ProfileReader(dynamodb, pipeline.tableName, Date.now, { hasher }).getProfile(
      registered,
    );
    const unhashed = await new ProfileReader(dynamodb, pipeline.tableName).getProfile(registered);
    // The CLI takes the key from LOCAL_HASH_KEY, as `npm start -- --serve` prints it.
    const cli = await runRepoScript(
      'infra/cli/profile.ts',
      [
        'get',
        registered,
        '--table',
        pipeline.tableName,
        '--endpoint',
        pipeline.cloud.endpoints.dynamodb,
        '--pseudonymise-ids',
        '--raw',
      ],
      60_000,
      { LOCAL_HASH_KEY: pipeline.hashKey },
    );

    // Assess
    expect(byRawId?.state.profileId).toBe(pseudonymousProfileId(hasher, registered));
    expect(unhashed).toBeUndefined();
    expect(JSON.parse(cli)).toMatchObject({ state: { profileId: byRawId?.state.profileId } });
  }, 90_000);
});
