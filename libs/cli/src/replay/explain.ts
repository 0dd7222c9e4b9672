/** `@perpmesh/cli/explain`, kept for older imports: explain lives in `@perpmesh/replay`. */
export {
  type ExplainedDecision,
  type ExplainOptions,
  type Explanation,
  explain,
  explainSource,
  type TimelineItem,
} from '@perpmesh/replay';
export { formatExplanation } from './format.js';
