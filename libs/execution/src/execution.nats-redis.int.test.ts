/**
 * The execution service on NATS JetStream and Redis (the distributed setup), against the
 * paper exchange. Streams, subjects and keys are namespaced per run and removed after.
 */
import { describeExecutionScenarios } from './scenarios.test-helper.js';

describeExecutionScenarios('nats-redis');
