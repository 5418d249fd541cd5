/**
 * `npm run evaluate` as a user runs it, on a small synthetic history: it prints one table per head
 * (the network beside its baselines, the published one marked) and writes the HTML report with its plots.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRepoScript } from '../support/run-repo-script';

describe('npm run evaluate', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'profile-stream-evaluate-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints every head beside its baselines, marks the published scorer and writes an HTML report', async () => {
    // Act
    const stdout = await runRepoScript(
      'infra/cli/evaluate.ts',
      ['--synthetic', '600', '--days', '5', '--horizon-hours', '12', '--out', out],
      120_000,
    );
    // Assess
    const interval = String.raw`0\.\d{4} \[0\.\d{4}, [01]\.\d{4}\]`;
    expect(stdout).toMatch(/Purchase \(12 h\) head/);
    expect(stdout).toMatch(
      new RegExp(String.raw`multi-task network, calibrated \[val [01]\.\d{4}\] ?\*?\s+${interval}`),
    );
    expect(stdout).toMatch(/heuristic \(decay_1d_add_to_cart_log1p\)/);
    expect(stdout).toMatch(
      new RegExp(String.raw`logistic regression, calibrated \[val [01]\.\d{4}\] ?\*?\s+${interval}`),
    );
    expect(stdout).toMatch(/Churn \(24 h\) head/);
    expect(stdout).toMatch(new RegExp(String.raw`popularity \*?\s+graph\s+[01]\.\d{4}\s+${interval}`));
    expect(stdout).toMatch(/affinity\s+profile state/);
    expect(stdout).toMatch(
      /Purchase head: (multi-task network|logistic regression|heuristic) \(validation ROC-AUC/,
    );
    const reports = readdirSync(out).filter((f) => f.endsWith('.html'));
    expect(reports).toHaveLength(1);
    const html = readFileSync(path.join(out, reports[0]!), 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(2);
  }, 130_000);
});
