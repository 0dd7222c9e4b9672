/** A funding-arb book as StrategyService.GetArbBook answers it: one open arb, one closed, one alarm, for the gateway's tests. */
import { type Arb, type ArbLeg, type GetArbBookResponse, Side } from '@perpmesh/contracts';

export const ARB_T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const HOUR_MS = 3_600_000;

function leg(venue: string, side: Side, size: string, settled: string[], predicted: string[]): ArbLeg {
  return {
    venue,
    account: 'main',
    instrument: 'BTC-USDC-PERP',
    entrySide: side,
    size,
    entryPrice: '50000',
    fees: '5',
    fundingReceived: settled.reduce((s, x) => s + Number(x), 0).toString(),
    realizedPnl: '0',
    clientOrderIds: [],
    pricePnl: '-0.1',
    unrealizedPnl: '-0.1',
    mark: '50000.5',
    slippage: '0.1',
    fundingPredicted: predicted.reduce((s, x) => s + Number(x), 0).toString(),
    settlements: settled.length,
    fundingHistory: settled.map((s, i) => ({
      venue,
      fundingTimeMs: ARB_T0 + (i + 1) * HOUR_MS,
      settled: s,
      predicted: predicted[i] ?? '',
      rate: '0.0005',
      mark: '50000',
    })),
  };
}

function arb(id: string, phase: string, extra: Partial<Arb> = {}): Arb {
  return {
    arbId: id,
    instrument: 'BTC-USDC-PERP',
    phase,
    shortLeg: leg('paper-lighter', Side.SIDE_SELL, '-0.2', ['5', '4.5'], ['5', '5']),
    longLeg: leg('paper-extended', Side.SIDE_BUY, '0.2', ['5', '5'], ['5', '5']),
    expectedNetCarry: '20',
    fees: '10',
    fundingReceived: '19.5',
    carryNetOfFees: '9.5',
    realizedPnl: '9.5',
    startedAtMs: ARB_T0,
    closedAtMs: 0,
    closeReason: '',
    entry: {},
    attribution: {
      funding: '19.5',
      fundingPredicted: '20',
      basisPnl: '-0.2',
      fees: '10',
      slippage: '0.2',
      net: '9.3',
    },
    breakEvenHours: '0',
    carryPerHour: '10',
    openedAtMs: ARB_T0 + 1_000,
    ...extra,
  };
}

export function sampleArbBook(): GetArbBookResponse {
  return {
    strategyId: 'arb-1',
    dryRun: false,
    active: [arb('BTC-USDC-PERP#2', 'open', { breakEvenHours: '1.25' })],
    closed: [
      arb('BTC-USDC-PERP#1', 'closed', {
        closedAtMs: ARB_T0 + 3 * HOUR_MS,
        closeReason: 'spread_reversal',
        breakEvenHours: '',
        attribution: {
          funding: '1',
          fundingPredicted: '1.5',
          basisPnl: '-2',
          fees: '10',
          slippage: '0.4',
          net: '-11',
        },
      }),
    ],
    totals: {
      funding: '20.5',
      fundingPredicted: '21.5',
      basisPnl: '-2.2',
      fees: '20',
      slippage: '0.6',
      net: '-1.7',
    },
    breakEvenHours: '1.25',
    alarms: [
      {
        key: 'BTC-USDC-PERP#2:paper-lighter:liquidation_distance',
        name: 'liquidation_distance',
        sinceMs: ARB_T0 + 2 * HOUR_MS,
        message: 'the short leg on paper-lighter is 900 bps from liquidation',
      },
    ],
    breaker: {
      tripped: true,
      reasonCode: 'drawdown_breaker',
      message: 'realized net PnL is 11 below its peak (limit 5)',
      trippedAtMs: ARB_T0 + 3 * HOUR_MS,
      realizedNet: '-11',
      peakNet: '0',
      drawdown: '11',
      consecutiveLosses: 1,
    },
    asOfMs: ARB_T0 + 4 * HOUR_MS,
    fundingReadings: [1, 2, 3].flatMap((h) =>
      [
        ['paper-lighter', '0.0005'],
        ['paper-extended', '-0.0005'],
      ].map(([venue, rate]) => ({
        venue: venue!,
        instrument: 'BTC-USDC-PERP',
        fundingTimeMs: ARB_T0 + h * HOUR_MS,
        rate: rate!,
        intervalMs: HOUR_MS,
        ratePerHour: rate!,
        mark: '50000',
        pending: h === 3,
      })),
    ),
  };
}
