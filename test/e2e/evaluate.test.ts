/**
 * `npm run evaluate` as a user runs it, on a small synthetic history: it prints the three scorers'
 * metrics and writes the HTML report with its plots.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runRepoScript } from '../support/run-repo-script';

describe('npm run evaluate', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'profile-stream-evaluate-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints the model beside both baselines and writes an HTML report', async () => {
    // Act
    const stdout = await runRepoScript(
      'infra/cli/evaluate.ts',
      ['--synthetic', '600', '--days', '5', '--horizon-hours', '12', '--out', out],
      120_000,
    );
    // Assess
    expect(stdout).toMatch(/model \(MLP, calibrated\)\s+0\.\d{4} \[0\.\d{4}, [01]\.\d{4}\]/);
    expect(stdout).toMatch(/heuristic \(decay_1d_add_to_cart_log1p\)/);
    expect(stdout).toMatch(/logistic regression\s+0\.\d{4}/);
    const reports = readdirSync(out).filter((f) => f.endsWith('.html'));
    expect(reports).toHaveLength(1);
    const html = readFileSync(path.join(out, reports[0]!), 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(2);
  }, 130_000);
});
