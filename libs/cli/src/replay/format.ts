/**
 * The replay reports as text, for `perpmesh replay ...` and `perpmesh explain` (the
 * reports themselves come from `@perpmesh/replay`; `--json` prints them as they are).
 */
import {
  type ExplainedDecision,
  type Explanation,
  type ReplayProjectionsReport,
  type ReplayStrategyReport,
  sameJournalJson,
} from '@perpmesh/replay';
import { decodeJournalValue, type JournalDecision } from '@perpmesh/strategy/runtime';

/** The report as text lines: one summary line per check, then each difference. */
export function formatReplayProjections(report: ReplayProjectionsReport, maxPerCheck = 20): string[] {
  const lines: string[] = [];
  for (const c of report.checks) {
    const verdict = c.differing.length === 0 ? 'no difference' : `${c.differing.length} DIFFERENT`;
    lines.push(
      `${c.kind} (${c.source}, ${c.stream}): ${c.folded} events folded, ${c.compared} compared: ${verdict}` +
        (c.problem ? ` (${c.problem})` : ''),
    );
    for (const point of c.differing.slice(0, maxPerCheck)) {
      for (const d of point.differences) {
        lines.push(
          `  ${point.stream} seq ${point.seq} ${point.what}: ${d.path}: live ${d.live}, rebuilt ${d.rebuilt}`,
        );
      }
    }
    if (c.differing.length > maxPerCheck) lines.push(`  ... and ${c.differing.length - maxPerCheck} more`);
  }
  lines.push(
    report.differences === 0
      ? 'replay projections: the rebuild matches the live projections'
      : `replay projections: ${report.differences} comparison(s) differ`,
  );
  return lines;
}

function decisionLines(title: string, d: ExplainedDecision): string[] {
  const lines = [`${title}: ${d.strategyId} ${d.decision} ${d.reasonCode} (${d.decisionId}) — ${d.reason}`];
  if (d.trigger) {
    lines.push(
      `  triggered by input #${d.trigger.n} at ${new Date(d.trigger.nowMs).toISOString()}: ${d.trigger.input}${d.trigger.from ? ` (${d.trigger.from})` : ''}`,
    );
  }
  const show = (name: string, group: Record<string, string>) => {
    const entries = Object.entries(group);
    if (entries.length > 0) lines.push(`  ${name}: ${entries.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  };
  show('funding rates', d.inputs.funding);
  show('books', d.inputs.books);
  show('balances (risk check)', d.inputs.balances);
  show('sizing and checks', d.inputs.other);
  return lines;
}

export function formatExplanation(x: Explanation): string[] {
  const lines: string[] = [];
  lines.push(
    `explain ${x.target}${x.clientOrderId && x.clientOrderId !== x.target ? ` (order ${x.clientOrderId})` : ''}`,
  );
  if (x.order) lines.push(`order: ${x.order}`);
  if (x.placedBy) lines.push(...decisionLines(x.clientOrderId ? 'placed by' : 'decision', x.placedBy));
  for (const d of x.canceledBy) lines.push(...decisionLines('cancel requested by', d));
  lines.push('timeline:');
  for (const t of x.timeline) lines.push(`  ${new Date(t.tsMs).toISOString()}  ${t.at.padEnd(28)} ${t.what}`);
  for (const p of x.problems) lines.push(`problem: ${p}`);
  return lines;
}

function decisionLine(d: JournalDecision): string {
  const orders = (decodeJournalValue(d.orders) as Array<Record<string, unknown>>)
    .map(
      (o) =>
        `${o.side} ${String(o.size)} ${o.instrument} on ${o.venue}${o.price ? ` @ ${String(o.price)}` : ''}`,
    )
    .join(', ');
  return `${d.kind} ${d.reasonCode}: ${d.message}${orders ? ` [${orders}]` : ''}`;
}

function inputsLine(d: JournalDecision): string {
  return Object.entries(d.inputs)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** `key: recorded → replayed` for each input that differs. */
function changedInputs(was: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string {
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])];
  return keys
    .filter((k) => was[k] !== now[k])
    .map((k) => `${k}: ${was[k] ?? '(none)'} → ${now[k] ?? '(none)'}`)
    .join(', ');
}

/** The report as text: decision by decision, then the verdict. */
export function formatReplayStrategy(report: ReplayStrategyReport, checking: boolean): string[] {
  const lines: string[] = [];
  for (const step of report.steps) {
    const at = `#${step.n} ${new Date(step.nowMs).toISOString()} ${step.input}${step.from ? ` (${step.from.stream} seq ${step.from.seq})` : ''}`;
    if (step.same) {
      for (const d of step.replayed.decisions) lines.push(`  = ${at}: ${decisionLine(d)}`);
      continue;
    }
    lines.push(`  ≠ ${at}:`);
    const recorded = step.recorded.decisions;
    const replayed = step.replayed.decisions;
    for (let i = 0; i < Math.max(recorded.length, replayed.length); i++) {
      const was = recorded[i];
      const now = replayed[i];
      lines.push(`      recorded: ${was ? decisionLine(was) : '(no decision)'}`);
      lines.push(`      replayed: ${now ? decisionLine(now) : '(no decision)'}`);
      // Why: the whole input set at the first non-determinism, else what changed in it.
      if (checking) {
        if (was) lines.push(`        recorded inputs: ${inputsLine(was)}`);
        if (now) lines.push(`        replayed inputs: ${inputsLine(now)}`);
      } else {
        const changed = was && now ? changedInputs(was.inputs, now.inputs) : '';
        if (changed) lines.push(`        because ${changed}`);
      }
    }
    if (sameJournalJson(recorded, replayed)) {
      lines.push(
        `      same decisions, different commands: recorded ${JSON.stringify(step.recorded.commands)}, replayed ${JSON.stringify(step.replayed.commands)}`,
      );
    }
  }
  for (const p of report.problems) lines.push(`  problem: ${p}`);
  const decided = report.steps.length;
  if (checking) {
    lines.push(
      report.firstDivergence
        ? `replay strategy ${report.strategyId}: NON-DETERMINISM at input #${report.firstDivergence.n} (run ${report.firstDivergence.run}): the same inputs gave different decisions`
        : `replay strategy ${report.strategyId}: ${report.inputs} inputs, ${decided} deciding steps, identical decisions`,
    );
  } else {
    lines.push(
      `replay strategy ${report.strategyId} with overrides: ${report.inputs} inputs, ${report.divergent} of ${decided} deciding steps differ`,
    );
  }
  return lines;
}
