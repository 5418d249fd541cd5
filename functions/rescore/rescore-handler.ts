import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { fieldRuleFromZod, FieldRuleError } from '../../shared/errors';
import {
  rescoreSegment,
  type RescoreDependencies,
  type RescoreStats,
  type RescoreStop,
} from '../../shared/rescoring/rescore-segment';
import { logger } from '../commons/telemetry';

/**
 * What one invocation rescores: a segment, from its start or from where the previous invocation of
 * the same segment stopped. Other fields (the previous invocation's answer, passed back whole by the
 * state machine's loop) are ignored.
 */
export const RESCORE_EVENT = z.object({
  segment: z.number().int().min(0),
  startKey: z.string().min(1).nullish(),
});

/** The event of {@link RESCORE_EVENT}. */
export type RescoreEvent = z.infer<typeof RESCORE_EVENT>;

/** The answer; `done: false` asks the caller to invoke again with this answer as the event. */
export interface RescoreResponse {
  segment: number;
  startKey: string | null;
  done: boolean;
  stoppedBecause: RescoreStop;
  stats: RescoreStats;
}

/** The invocation's event is not a segment of this deployment. */
export class RescoreEventViolation extends FieldRuleError {
  override readonly name = 'RescoreEventViolation';
}

/** The rescore Lambda handler's signature. */
export type RescoreHandler = (
  event: unknown,
  context?: Partial<Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>>,
) => Promise<RescoreResponse>;

/**
 * An invocation stops taking new pages this long before its timeout: a page (scan, one inference,
 * ≤ page-size writes, SDK retries included) takes well under it.
 */
export const RESCORE_DEADLINE_MARGIN_MS = 30_000;

/** What the handler needs besides the use case's ports. */
export interface RescoreHandlerDependencies extends Omit<
  RescoreDependencies,
  'hasTimeLeft' | 'now' | 'sleep'
> {
  totalSegments: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Build the rescore handler around its adapters (`handler.ts` wires the AWS ones).
 *
 * Flow: validate the event → `rescoreSegment` (the domain) until the segment ends or the invocation's
 * time is nearly up → log the counters → answer with the continuation key.
 */
export function createRescoreHandler(deps: RescoreHandlerDependencies): RescoreHandler {
  const { totalSegments, ...useCase } = deps;
  return async (event, context) => {
    const parsed = RESCORE_EVENT.safeParse(event);
    if (!parsed.success) {
      const { field, rule, value } = fieldRuleFromZod(parsed.error, event, '(event)');
      throw new RescoreEventViolation(field, rule, JSON.stringify(value) ?? 'undefined');
    }
    const { segment, startKey } = parsed.data;
    if (segment >= totalSegments) {
      throw new RescoreEventViolation('segment', `must be below ${totalSegments}`, String(segment));
    }
    logger.appendKeys({ segment, requestId: context?.awsRequestId });
    try {
      const remaining = context?.getRemainingTimeInMillis;
      const result = await rescoreSegment(
        { segment, totalSegments, ...(startKey == null ? {} : { startKey }) },
        {
          now: Date.now,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          ...useCase,
          hasTimeLeft: () => remaining === undefined || remaining() > RESCORE_DEADLINE_MARGIN_MS,
        },
      );
      logger.info('segment rescored', { ...result.stats, stoppedBecause: result.stoppedBecause });
      return {
        segment,
        startKey: result.nextStartKey ?? null,
        done: result.stoppedBecause !== 'deadline',
        stoppedBecause: result.stoppedBecause,
        stats: result.stats,
      };
    } finally {
      logger.resetKeys();
    }
  };
}
