export {
  ActiveStandby,
  type ActiveStandbyHooks,
  type ActiveStandbyLog,
  type ActiveStandbyOptions,
  type ActiveStandbyStatus,
  DEFAULT_STOP_STORE_WAIT_MS,
  type StandbyTransition,
} from './active-standby.js';
export {
  EmbeddedStoreLockedError,
  StateStoreCorruptError,
} from './embedded-files.js';
export { EmbeddedStateReader } from './embedded-reader.js';
export { EmbeddedStateStore, type EmbeddedStateStoreOptions } from './embedded-store.js';
export { checkKeyPrefix, DEFAULT_KEY_PREFIX, type StateKeys, stateKeys } from './keys.js';
export {
  DEFAULT_LEASE_KEY_TTL_MS,
  Lease,
  type LeaseHolder,
  type LeaseOptions,
  type LeaseTakeover,
  parseLeaseValue,
} from './lease.js';
export {
  currentProcessIdentity,
  formatLeaseHolder,
  type HolderVerdict,
  judgeLeaseHolder,
  leaseHolderProvablyDead,
  localProcessProbe,
  type ProcessIdentity,
  type ProcessProbe,
  parseLeaseHolderIdentity,
  parseProcStat,
  processLeaseHolder,
} from './process-identity.js';
export {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  REDIS_AUTO_PIPELINING_ENV,
  type RedisConnectOptions,
  RedisStateStore,
  type RedisStateStoreOptions,
  type RedisTimeoutOptions,
  redisStoreClientOptions,
} from './redis-store.js';
export { ReplicaAddresses } from './replica-addresses.js';
export {
  fmix32,
  fnv1a32,
  type KeyMove,
  preferredOwner,
  type SharedLeaseRound,
  SharedLeases,
  type SharedLeasesOptions,
} from './shared-leases.js';
export {
  type AllocateNonceOptions,
  type AppliedSeqs,
  apiKeyFingerprint,
  type ClaimResult,
  canonicalApplied,
  FIRST_NONCE,
  MAX_NONCE,
  MAX_NONCE_BLOCK,
  type NonceBlock,
  NonceExhaustedError,
  type NonceKey,
  ProjectionConflictError,
  type ProjectionSnapshot,
  type ProjectionStoreAdapter,
  projectionStoreOf,
  type StateStore,
  StateStoreBackendError,
  StateStoreClosedError,
} from './statestore.js';
