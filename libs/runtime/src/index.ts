/**
 * @perpmesh/runtime: what every service process needs around its domain code:
 * config (YAML + env, zod-validated, secrets), logging (pino, redacted), health and
 * metrics over HTTP, the start/stop lifecycle, and the gRPC server edge.
 */

export { bearerToken } from './bearer.js';
export {
  CONFIG_PATH_ENV,
  ConfigError,
  type ConfigIssue,
  configArgsFromArgv,
  DEFAULT_CONFIG_PATH,
  ENV_OVERRIDE_PREFIX,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  type ParseConfigOptions,
  parseConfig,
  WELL_KNOWN_ENV,
} from './config.js';
export {
  type BaseConfig,
  baseConfigSchema,
  baseConfigShape,
  decimalString,
  durationMs,
  httpSectionSchema,
  type LogFormat,
  type LogLevel,
  listenHostSchema,
  logFormatSchema,
  logLevelSchema,
  parseDurationMs,
  portSchema,
  type RunMode,
  runModeSchema,
  SECRET_LITERAL_MESSAGE,
  secretSchema,
  serverUrlSchema,
  serviceConfigSchema,
  type TlsSection,
  tlsSectionSchema,
} from './config-schemas.js';
export {
  bearerAuthInterceptor,
  bearerAuthServerInterceptor,
  bearerCallCredentials,
  bearerMetadata,
  checkRequestFieldSizes,
  DEFAULT_GRPC_CLOSE_GRACE_MS,
  DOMAIN_CODE_TO_GRPC_STATUS,
  type GrpcCallContext,
  type GrpcErrorMappingOptions,
  type GrpcHandlers,
  type GrpcServerOptions,
  type GrpcServiceRegistration,
  GrpcStatusError,
  grpcHandlers,
  HEALTH_SERVICE_NAME,
  MAX_GRPC_RECEIVE_BYTES,
  MAX_REQUEST_LIST_LENGTH,
  MAX_REQUEST_TEXT_CHARS,
  MAX_STATUS_DETAILS_CHARS,
  type RunningGrpcServer,
  type ServerStreamHandler,
  startGrpcServer,
  toGrpcStatus,
  type UnaryHandler,
} from './grpc.js';
export {
  type ComponentReport,
  type ComponentStatus,
  HealthRegistry,
  type HealthRegistryOptions,
  type LivenessCheck,
  type LivenessReport,
  type ReadinessListener,
  type ReadinessReport,
} from './health.js';
export { type HttpServerOptions, type RunningHttpServer, startHttpServer } from './http.js';
export {
  DEFAULT_STOP_TIMEOUT_MS,
  LIFECYCLE_HEALTH_COMPONENT,
  runService,
  type ServiceComponent,
  ServiceLifecycle,
  type ServiceLifecycleOptions,
  ServiceStartError,
  type ServiceState,
  type ShutdownSignal,
  type SignalSource,
  type StopReport,
} from './lifecycle.js';
export {
  callersAuthenticated,
  grpcChannelCredentials,
  grpcServerCredentials,
  isLoopbackHost,
  type ListenerSetting,
  listenerExposureProblem,
  listenerSettings,
  serverUsesTls,
} from './listeners.js';
export {
  componentLogger,
  createLogger,
  formatLogEntry,
  type Logger,
  type LoggerOptions,
  REDACT_DEPTH,
  type ResolvedLogFormat,
  redactPaths,
  resolveLogFormat,
  SECRET_LOG_KEYS,
  withoutDuplicateKeys,
} from './logger.js';
export { type CreateMetricsOptions, createMetrics, type ServiceMetrics } from './metrics.js';
export {
  ADVERTISE_ADDRESS_PATTERN,
  advertisedGrpcAddress,
  callPeer,
  deadlineEpochMs,
  forwardedMetadata,
  hasForwardedMarker,
  type PeerClientConstructor,
  PeerClients,
  type PeerClientsOptions,
  PeerRouter,
  type PeerRouterOptions,
  type PeerUnary,
  type ReplicaForwarding,
} from './peer-clients.js';
export { isSecret, REDACTED, Secret } from './secret.js';
