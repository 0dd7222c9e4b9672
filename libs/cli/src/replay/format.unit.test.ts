import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExplainedDecision, ReplayedStep, ReplayStrategyReport } from '@perpmesh/replay';
import type { JournalDecision } from '@perpmesh/strategy/runtime';
import { formatExplanation, formatReplayProjections, formatReplayStrategy } from './format.js';

const T = Date.UTC(2026, 0, 1);

function decision(id: string, reasonCode: string, trigger: ExplainedDecision['trigger']): ExplainedDecision {
  return {
    eventId: `ev-${id}`,
    decisionId: id,
    strategyId: 'arb-1',
    kind: 'funding_arb',
    decision: reasonCode === 'operator_halt' ? 'cancel' : 'enter',
    reasonCode,
    reason: 'why',
    decidedAtMs: T,
    inputs: { funding: { 'paper.rate_per_hour': '0.0000125' }, books: {}, balances: {}, other: {} },
    ...(trigger ? { trigger } : {}),
  };
}

test('formatExplanation: the placing and the canceling decision, each with its trigger input', () => {
  const text = formatExplanation({
    target: 'ev-cancel',
    clientOrderId: 'arb-1_rest',
    placedBy: decision('arb-1:7', 'spread_open', { input: 'tick', n: 3, nowMs: T }),
    canceledBy: [decision('arb-1:8', 'operator_halt', { input: 'operator halt', n: 4, nowMs: T + 5_000 })],
    timeline: [{ tsMs: T, at: 'EXEC seq 1', what: 'order submitted' }],
    problems: ['no fill'],
  }).join('\n');
  assert.match(text, /^explain ev-cancel \(order arb-1_rest\)/);
  assert.match(text, /placed by: arb-1 enter spread_open \(arb-1:7\) — why/);
  assert.match(text, /cancel requested by: arb-1 cancel operator_halt \(arb-1:8\)/);
  assert.match(text, /triggered by input #4 at \S+: operator halt/);
  assert.match(text, /funding rates: paper\.rate_per_hour=0\.0000125/);
  assert.match(text, /EXEC seq 1\s+order submitted/);
  assert.match(text, /problem: no fill$/);
});

test('formatReplayProjections: a line per check, each difference, the verdict', () => {
  const check = { kind: 'positions', source: 'positions', stream: 'EXEC', folded: 3, compared: 2 };
  const same = formatReplayProjections({
    checks: [{ ...check, differing: [] }],
    differences: 0,
    problems: 0,
  });
  assert.deepEqual(same, [
    'positions (positions, EXEC): 3 events folded, 2 compared: no difference',
    'replay projections: the rebuild matches the live projections',
  ]);
  const differing = [
    { stream: 'EXEC', seq: 2, what: 'positions', differences: [{ path: 'size', live: '1', rebuilt: '2' }] },
    { stream: 'EXEC', seq: 3, what: 'positions', differences: [{ path: 'size', live: '1', rebuilt: '3' }] },
  ];
  const text = formatReplayProjections({ checks: [{ ...check, differing }], differences: 2, problems: 0 }, 1);
  assert.deepEqual(text, [
    'positions (positions, EXEC): 3 events folded, 2 compared: 2 DIFFERENT',
    '  EXEC seq 2 positions: size: live 1, rebuilt 2',
    '  ... and 1 more',
    'replay projections: 2 comparison(s) differ',
  ]);
});

function journalDecision(threshold: string, reasonCode: string): JournalDecision {
  return {
    id: 'arb-1:1',
    kind: 'enter',
    reasonCode,
    message: 'spread',
    inputs: { entry_threshold_bps: threshold },
    orders: [{ side: 'buy', size: { $d: '0.5' }, instrument: 'BTC-USDC-PERP', venue: 'paper' }],
  };
}

function step(same: boolean, recorded: JournalDecision, replayed: JournalDecision): ReplayedStep {
  return {
    run: 'run1',
    n: 7,
    nowMs: T,
    input: 'tick',
    recorded: { decisions: [recorded], commands: [] },
    replayed: { decisions: [replayed], commands: [] },
    same,
  };
}

test('formatReplayStrategy: identical, with overrides (what changed), and a non-determinism', () => {
  const base = { strategyId: 'arb-1', runs: 1, inputs: 10, problems: [] };
  const d = journalDecision('1', 'spread_open');
  const identical: ReplayStrategyReport = { ...base, steps: [step(true, d, d)], divergent: 0 };
  const lines = formatReplayStrategy(identical, true);
  assert.equal(
    lines[0],
    `  = #7 ${new Date(T).toISOString()} tick: enter spread_open: spread [buy 0.5 BTC-USDC-PERP on paper]`,
  );
  assert.match(lines.at(-1) ?? '', /10 inputs, 1 deciding steps, identical decisions/);

  const changed = step(false, d, journalDecision('100000', 'below_threshold'));
  const overridden = formatReplayStrategy({ ...base, steps: [changed], divergent: 1 }, false).join('\n');
  assert.match(overridden, /because entry_threshold_bps: 1 → 100000/);
  assert.match(overridden, /with overrides: 10 inputs, 1 of 1 deciding steps differ/);

  const diverged = formatReplayStrategy(
    { ...base, steps: [changed], divergent: 1, firstDivergence: changed },
    true,
  );
  assert.match(diverged.join('\n'), /recorded inputs: entry_threshold_bps=1/);
  assert.match(diverged.at(-1) ?? '', /NON-DETERMINISM at input #7 \(run run1\)/);
});
