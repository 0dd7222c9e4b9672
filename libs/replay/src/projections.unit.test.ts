import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyPositionsProjection, evolvePositions, type PositionsProjection } from '@perpmesh/account';
import type { StoredMessage } from '@perpmesh/bus';
import { Fill, Liquidity, newEnvelope, Side, Subjects } from '@perpmesh/contracts';
import { asStored } from './diff.js';
import { MemoryReader } from './memory-reader.test-helper.js';
import { type LiveProjections, replayProjections } from './projections.js';

const subjects = new Subjects();
const T = 1_765_000_000_000;

/** EXEC with three BTC fills, and the positions projection as saved after each. */
async function session() {
  const reader = new MemoryReader();
  const saved: { state: unknown; applied: Record<string, number> }[] = [];
  let state: PositionsProjection = emptyPositionsProjection();
  const fills: [Side, string, string][] = [
    [Side.SIDE_BUY, '60000', '0.02'],
    [Side.SIDE_SELL, '60100.5', '0.005'],
    [Side.SIDE_BUY, '59990', '0.001'],
  ];
  for (const [i, [side, price, size]] of fills.entries()) {
    const envelope = newEnvelope({
      source: 'execution/0',
      tsEventMs: T + i * 1000,
      tsInitMs: T + i * 1000,
      payload: {
        $case: 'fill',
        value: Fill.fromPartial({
          venue: 'paper',
          account: 'main',
          instrument: 'BTC-USDC-PERP',
          clientOrderId: `o${i}`,
          tradeId: `t${i}`,
          side,
          price,
          size,
          fee: '0.01',
          feeCurrency: 'USDC',
          liquidity: Liquidity.LIQUIDITY_TAKER,
          filledAtMs: T + i * 1000,
        }),
      },
    });
    const seq = reader.add('EXEC', subjects.execFill('paper', 'main'), envelope);
    const msg = await first(reader, seq);
    state = evolvePositions(state, msg);
    saved.push({ state: asStored(state), applied: { EXEC: seq } });
  }
  reader.ensure('ACCT');
  const histories = new Map<string, { state: unknown; applied: Record<string, number> }[]>([
    ['account-positions', saved],
  ]);
  const live: LiveProjections = {
    projectionHistory: async <S>(name: string) =>
      structuredClone(histories.get(name) ?? []) as { state: S; applied: Record<string, number> }[],
  };
  return { reader, live, saved };
}

async function first(reader: MemoryReader, seq: number): Promise<StoredMessage> {
  for await (const m of reader.read({ stream: 'EXEC', fromSeq: seq, toSeq: seq })) return m;
  throw new Error('no message');
}

const base = { subjects, streamPrefix: '', consumerName: 'account' };

test('every saved state matches the rebuild at its applied sequence', async () => {
  const { reader, live } = await session();
  const report = await replayProjections({ ...base, reader, live });
  const positions = report.checks.find((c) => c.kind === 'positions');
  assert.equal(positions?.folded, 3);
  assert.equal(positions?.compared, 3);
  assert.equal(report.differences, 0);
  assert.equal(report.problems, 0);
});

test('a tampered saved state is named by sequence and field, decimals exact', async () => {
  const { reader, live, saved } = await session();
  const second = saved[1]?.state as { positions: Record<string, { size: string }> };
  const key = Object.keys(second.positions)[0] as string;
  (second.positions[key] as { size: string }).size = '0.0150';
  const tampered: LiveProjections = {
    projectionHistory: async <S>(name: string) =>
      (name === 'account-positions' ? structuredClone(saved) : []) as {
        state: S;
        applied: Record<string, number>;
      }[],
  };
  void live;
  const report = await replayProjections({ ...base, reader, live: tampered });
  const positions = report.checks.find((c) => c.kind === 'positions');
  assert.equal(report.differences, 1);
  assert.deepEqual(positions?.differing[0], {
    stream: 'EXEC',
    seq: 2,
    what: 'account-positions',
    differences: [{ path: `positions[${JSON.stringify(key)}].size`, live: '"0.0150"', rebuilt: '"0.015"' }],
  });
});

test('--from / --to bound what is compared; --to also ends the rebuild', async () => {
  const { reader, live } = await session();
  const from = await replayProjections({ ...base, reader, live, window: { from: { seqs: { EXEC: 3 } } } });
  assert.equal(from.checks.find((c) => c.kind === 'positions')?.compared, 1);
  const to = await replayProjections({ ...base, reader, live, window: { to: { seqs: { EXEC: 2 } } } });
  const positions = to.checks.find((c) => c.kind === 'positions');
  assert.equal(positions?.folded, 2);
  assert.equal(positions?.compared, 2);
  assert.equal(positions?.problem, undefined, 'a saved state past --to is not a problem');
  const byTime = await replayProjections({
    ...base,
    reader,
    live,
    window: { to: { seqs: {}, timeMs: T + 500 } },
  });
  assert.equal(byTime.checks.find((c) => c.kind === 'positions')?.compared, 1);
});
