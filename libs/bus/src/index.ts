// Public surface of @perpmesh/bus. Validation/resolution helpers stay internal.
export { DEFAULT_COALESCE_MAX_BATCH, PublishCoalescer } from './coalescer.js';
export { EmbeddedEventLog, type EmbeddedEventLogOptions } from './embedded.js';
export {
  ConsumerConfigError,
  CorruptLogError,
  DataDirLockedError,
  EventLogClosedError,
  NoStreamForSubjectError,
  PoisonEventError,
  PROJECTION_CONFLICT_CODE,
  PublishBatchError,
  PublishFailedError,
  StreamConfigError,
  StreamNotFoundError,
} from './errors.js';
export {
  type ConsumeOptions,
  type ConsumerHandle,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_DUPLICATE_WINDOW_MS,
  DEFAULT_NAK_DELAY_MS,
  type DeliverPolicy,
  type EventLog,
  MAX_NAK_DELAY_MS,
  type MessageHandler,
  type OutgoingMessage,
  type PublishAck,
  type ReadOptions,
  type StoredMessage,
  type StreamSpec,
  type StreamState,
  type TailHandle,
  type TailOptions,
} from './eventlog.js';
export {
  type ConsumerStats,
  type EventLogLogger,
  type HandlerFailure,
  type HandlerFailureOutcome,
  STDERR_EVENTLOG_LOGGER,
} from './failures.js';
export type { FsyncPolicy } from './files.js';
export { lockDir } from './files.js';
export {
  DEFAULT_NATS_MAX_PINGS_OUT,
  DEFAULT_NATS_PING_INTERVAL_MS,
  DEFAULT_PULL_EXPIRES_MS,
  NATS_PUBLISH_ACKS_ENV,
  NatsEventLog,
  type NatsEventLogOptions,
  type NatsLivenessOptions,
  natsConnectionOptions,
  type PublishAcksMode,
  type ResendReport,
} from './nats.js';
export {
  FileOutbox,
  type FileOutboxOptions,
  InMemoryOutbox,
  LEGACY_OUTBOX_JOURNAL_FILE,
  OUTBOX_JOURNAL_FILE,
  type Outbox,
  type OutboxEntry,
} from './outbox.js';
export {
  type AppliedSeqs,
  InMemoryProjectionStore,
  type ProjectionSnapshot,
  type ProjectionStore,
  type ProjectorHandle,
  type ProjectorOptions,
  type ProjectorStats,
  runProjector,
} from './projector.js';
export {
  EmbeddedLogReader,
  type EventLogReader,
  NatsLogReader,
  type NatsLogReaderOptions,
} from './reader.js';
export {
  type OpenedTailConsumer,
  type OpenWithRetryOptions,
  openWithRetry,
  ResumingTail,
  type ResumingTailOptions,
  type TailConsumerMessages,
  TailOpenError,
} from './resuming-tail.js';
export { DEFAULT_PUBLISH_RETRY, type PublishRetryPolicy, retrySpanMs } from './retry.js';
export { subjectMatches, subjectsOverlap } from './subjects.js';
export { TurnBatcher } from './turn-batcher.js';
