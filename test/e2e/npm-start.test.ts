/**
 * `npm start` end to end, as a user runs it (a small workload to keep the suite quick): the process
 * exits 0 and its last line accounts for every record.
 */
import { runRepoScript } from '../support/run-repo-script';

describe('npm start', () => {
  it('runs the pipeline locally and ends with a balanced accounting line', async () => {
    // Act
    const stdout = await runRepoScript(
      'infra/cli/start-local-pipeline.ts',
      ['--users', '120', '--days', '3', '--samples', '1'],
      170_000,
    );
    // Assess
    const lines = stdout.trim().split('\n');
    expect(stdout).toMatch(/warm-up streamed: \d+ records ingested and archived/);
    expect(stdout).toMatch(/training on the archive \(\d+ events/);
    expect(lines[lines.length - 1]).toMatch(/accounting: produced [\d,]+ = .* → balanced ✓/);
    expect(lines[lines.length - 1]).toMatch(/profiles differing from the in-memory fold: 0/);
    // Visitors who identified were stitched into their user's profile: one live profile per person.
    expect(stdout).toMatch(/identified after browsing anonymously → 1\.00 profiles per person \(0 split\)/);
  }, 180_000);
});
