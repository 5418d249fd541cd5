import { logger } from '../../../functions/commons/telemetry';
import { createIngestHandler } from '../../../functions/ingest/ingest-handler';
import { kinesisEvent } from '../../support/factories';
import { InMemoryProfileStore, InMemoryQuarantine } from '../../support/in-memory-adapters';

const NOW = Date.UTC(2026, 10, 27, 12);
const SECRETS = ['someone@example.test', '203.0.113.7', 'Mozilla/5.0 (secret agent)', 'u-private-42'];

describe('ingest handler telemetry', () => {
  it('logs counts and stream positions, never payloads or personal data', async () => {
    // Prepare
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    logger.setLogLevel('DEBUG');
    const handler = createIngestHandler({
      profiles: new InMemoryProfileStore(),
      quarantine: new InMemoryQuarantine(),
      scorer: { score: async () => undefined },
      now: () => NOW,
    });
    const good = {
      schemaVersion: 1,
      eventId: 'e-1',
      type: 'login',
      userId: 'u-private-42',
      occurredAt: NOW - 1000,
      context: { email: SECRETS[0], ip: SECRETS[1], userAgent: SECRETS[2] },
    };
    const bad = { ...good, eventId: 'e-2', context: { ...good.context, device: 'toaster' } };
    // Act
    try {
      await handler(kinesisEvent([good, bad], { partitionKey: 'u-private-42', arrivalMs: NOW }), {
        awsRequestId: 'req-1',
      });
    } finally {
      logger.setLogLevel('SILENT');
      spy.mockRestore();
    }
    // Assess
    const output = written.join('');
    expect(output).toContain('batch processed');
    expect(output).toContain('shardId-000000000000');
    for (const secret of SECRETS) expect(output).not.toContain(secret);
  });
});
