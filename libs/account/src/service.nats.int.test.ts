/** The account service on NATS JetStream and Redis (the distributed deployment). */
import { describeAccountScenarios } from './scenarios.test-helper.js';

describeAccountScenarios('nats-redis');
