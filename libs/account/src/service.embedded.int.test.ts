/** The account service on the embedded event log and state store (what `make run` uses). */
import { embeddedBackend } from './backends.test-helper.js';
import { describeAccountScenarios } from './scenarios.test-helper.js';

describeAccountScenarios('embedded log + embedded store', embeddedBackend);
