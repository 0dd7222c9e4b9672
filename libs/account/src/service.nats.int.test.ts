/** The account service on NATS JetStream and Redis (the distributed deployment). */
import { natsRedisBackend } from './backends.test-helper.js';
import { describeAccountScenarios } from './scenarios.test-helper.js';

describeAccountScenarios('NATS JetStream + Redis', natsRedisBackend);
