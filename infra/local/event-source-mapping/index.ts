/**
 * The local emulation of Lambda's Kinesis event source mapping: settings and their validation
 * (`settings.ts`), the on-failure invocation records (`on-failure-record.ts`), one poller per shard
 * (`shard-poller.ts`) and the mapping that runs them (`emulator.ts`).
 */
export {
  CatchUpTimeout,
  EventSourceMappingEmulator,
  EventSourceMappingNotRunning,
  type EventSourceMappingEmulatorOptions,
} from './emulator';
export {
  InvalidEventSourceMappingConfig,
  ENHANCED_FAN_OUT_POLL_INTERVAL_MS,
  LAMBDA_KINESIS_ESM_DEFAULTS,
  LAMBDA_SHARED_POLL_INTERVAL_MS,
  MAX_INVOCATION_PAYLOAD_BYTES,
  type KinesisEventSourceMappingConfig,
  type StartingPosition,
} from './settings';
export { type FailureCondition, type OnFailureInvocationRecord } from './on-failure-record';
export {
  laneOfPartitionKey,
  type EventSourceMappingProgress,
  type EventSourceMappingStats,
} from './shard-poller';
