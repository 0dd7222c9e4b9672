/**
 * The execution service on the embedded event log and state store (the `make run` setup),
 * against the paper exchange.
 */
import { describeExecutionScenarios } from './scenarios.test-helper.js';

describeExecutionScenarios('embedded');
