/**
 * Evaluate the anomaly score against ground truth: the synthetic workload's bots and injected account
 * takeovers. Events are decoded as ingest decodes them, with a keyed hasher (so device and network
 * fingerprints exist), and folded per profile in event-time order one event at a time; a profile is
 * flagged when its score reaches the threshold after any of its events (as an activation feed would
 * fire on the crossing).
 */
import { profileIdOf, validateEvent, type ContractEvent } from '../../shared/contract/event-contract';
import { createKeyedHasher } from '../../shared/privacy/keyed-hash';
import { applyEventsToProfile } from '../../shared/profile/apply-events';
import type { ProfileState } from '../../shared/profile/profile-state';
import {
  assessRisk,
  DEFAULT_RISK_SCORING,
  SUSPICIOUS_SCORE,
  type RiskScoring,
} from '../../shared/risk/anomaly-score';
import { injectAccountTakeovers } from './account-takeover';
import { generateWorkload } from './synthetic-workload';

/** Options of {@link evaluateRisk}. */
export interface RiskEvaluationOptions {
  /** Synthetic people. @default 3000 */
  users?: number;
  /** @default 42 */
  seed?: number;
  /** Share of bots. @default 0.005 (the workload's default) */
  botShare?: number;
  /** Injected takeovers. @default 20 */
  takeovers?: number;
  /** Score from which a profile is flagged. @default SUSPICIOUS_SCORE */
  threshold?: number;
  scoring?: RiskScoring;
}

/** Precision and recall of one class, or of all suspicious profiles together. */
export interface ClassFigures {
  positives: number;
  flagged: number;
  recall: number;
}

/** Result of {@link evaluateRisk}. */
export interface RiskEvaluation {
  threshold: number;
  profiles: number;
  events: number;
  flagged: number;
  truePositives: number;
  falsePositives: number;
  precision: number;
  recall: number;
  bots: ClassFigures;
  takeovers: ClassFigures;
}

/** A fixed, public test key: the evaluation needs fingerprints, not secrecy. */
const EVALUATION_KEY = new TextEncoder().encode('risk-evaluation-test-key-not-a-secret-0001');

/** Run the evaluation (deterministic: same options, same figures). */
export function evaluateRisk(options: RiskEvaluationOptions = {}): RiskEvaluation {
  const threshold = options.threshold ?? SUSPICIOUS_SCORE;
  const scoring = options.scoring ?? DEFAULT_RISK_SCORING;
  const workload = generateWorkload({
    users: options.users ?? 3000,
    seed: options.seed ?? 42,
    botShare: options.botShare ?? 0.005,
  });
  const { events, takeovers } = injectAccountTakeovers(workload, { count: options.takeovers ?? 20 });
  const hasher = createKeyedHasher(EVALUATION_KEY);
  const byProfile = new Map<string, ContractEvent[]>();
  for (const raw of events) {
    const event = validateEvent(raw, workload.endMs + 86_400_000, hasher).event;
    const id = profileIdOf(event);
    const list = byProfile.get(id) ?? [];
    list.push(event);
    byProfile.set(id, list);
  }
  const bots = new Set([...workload.groundTruth.values()].filter((t) => t.isBot).map((t) => t.profileId));
  const flagged = new Set<string>();
  for (const [profileId, own] of byProfile) {
    let state: ProfileState | undefined;
    let sequence = 0;
    for (const event of own) {
      state = applyEventsToProfile(
        state,
        [{ event, shardId: 'shardId-000000000000', sequenceNumber: String(++sequence) }],
        profileId,
      ).state;
      if (assessRisk(state, scoring).anomalyScore >= threshold) {
        flagged.add(profileId);
        break;
      }
    }
  }
  const figures = (positives: ReadonlySet<string>): ClassFigures => {
    const hit = [...positives].filter((p) => flagged.has(p)).length;
    return {
      positives: positives.size,
      flagged: hit,
      recall: positives.size === 0 ? 0 : hit / positives.size,
    };
  };
  const suspicious = new Set([...bots, ...takeovers.keys()]);
  const truePositives = [...flagged].filter((p) => suspicious.has(p)).length;
  return {
    threshold,
    profiles: byProfile.size,
    events: events.length,
    flagged: flagged.size,
    truePositives,
    falsePositives: flagged.size - truePositives,
    precision: flagged.size === 0 ? 0 : truePositives / flagged.size,
    recall: suspicious.size === 0 ? 0 : truePositives / suspicious.size,
    bots: figures(bots),
    takeovers: figures(new Set(takeovers.keys())),
  };
}

/** The evaluation as the CLI prints it. */
export function formatRiskEvaluation(r: RiskEvaluation): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return [
    `risk evaluation: ${r.profiles} profiles, ${r.events} events, threshold anomalyScore ≥ ${r.threshold}`,
    `  flagged ${r.flagged}: ${r.truePositives} true, ${r.falsePositives} false`,
    `  precision ${pct(r.precision)}  recall ${pct(r.recall)}`,
    `  bots       recall ${pct(r.bots.recall)} (${r.bots.flagged} of ${r.bots.positives})`,
    `  takeovers  recall ${pct(r.takeovers.recall)} (${r.takeovers.flagged} of ${r.takeovers.positives})`,
  ].join('\n');
}
