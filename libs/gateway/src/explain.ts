/**
 * `GET /api/explain/<id>`: the explain timeline of an order, fill, cancel or decision (from
 * it back to the decision and the inputs that caused it), as `perpmesh explain --json`
 * prints it. The walk itself is `explain` in libs/replay (`perpmesh explain` prints it too);
 * the process that builds the gateway passes it in as an `ExplainSource` over its own log,
 * so the dashboard and the CLI show the same timeline from one piece of code.
 */
import { ValidationError } from '@perpmesh/core';

/** Route prefix; the id follows, URL-encoded. */
export const EXPLAIN_ROUTE = '/api/explain/';

/** What the gateway needs of an explanation: its timeline and what could not be found. */
export interface ExplainedTimeline {
  readonly target: string;
  readonly timeline: readonly unknown[];
  readonly problems: readonly string[];
}

/** Explains a client order id, an event id or a decision id (read-only over the event log). */
export type ExplainSource = (target: string) => Promise<ExplainedTimeline>;

/** Client order ids, event ids (UUIDs) and decision ids (`arb-1:7`): no spaces, no slashes. */
const EXPLAIN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** The id of `/api/explain/<id>`; a clear error naming `id` otherwise. */
export function explainTargetOf(path: string): string {
  const raw = path.slice(EXPLAIN_ROUTE.length);
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new ValidationError('id', 'is not a valid URL-encoded id');
  }
  if (!EXPLAIN_ID_RE.test(id)) {
    throw new ValidationError(
      'id',
      `must be a client order id, an event id or a decision id (letters, digits, "_", ".", ":" or "-", at most 128), got ${JSON.stringify(id.slice(0, 64))}`,
    );
  }
  return id;
}
