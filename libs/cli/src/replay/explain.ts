/** `@perpmesh/cli/explain`, kept for older imports: explain lives in `@perpmesh/replay`. */
export {
  type ExplainedDecision,
  type ExplainOptions,
  type Explanation,
  explain,
  explainSource,
  formatExplanation,
  type TimelineItem,
} from '@perpmesh/replay';
