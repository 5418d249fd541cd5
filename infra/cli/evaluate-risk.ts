/**
 * `npx tsx infra/cli/evaluate-risk.ts [--users n] [--takeovers n] [--threshold s] [--seed n]`: precision
 * and recall of the anomaly score on the synthetic workload's bots and injected account takeovers
 * (`infra/workload/risk-evaluation.ts`).
 */
import { Command, InvalidArgumentError } from 'commander';

import { evaluateRisk, formatRiskEvaluation } from '../workload/risk-evaluation';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}
function unitInterval(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number in [0, 1]');
  return n;
}

const program = new Command('evaluate-risk')
  .description('precision / recall of the anomaly score against bots and injected account takeovers')
  .option('--users <n>', 'synthetic people', positiveInt, 3000)
  .option('--takeovers <n>', 'injected account takeovers', positiveInt, 20)
  .option('--threshold <score>', 'anomaly score from which a profile is flagged', unitInterval, 0.5)
  .option('--seed <n>', 'workload seed', positiveInt, 42)
  .action((opts: { users: number; takeovers: number; threshold: number; seed: number }) => {
    console.log(formatRiskEvaluation(evaluateRisk(opts)));
  });
program.parse();
