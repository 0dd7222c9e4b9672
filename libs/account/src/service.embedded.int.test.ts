/** The account service on the embedded event log and state store (what `make run` uses). */
import { describeAccountScenarios } from './scenarios.test-helper.js';

describeAccountScenarios('embedded');
