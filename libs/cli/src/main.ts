/**
 * The `perpmesh` command.
 *   perpmesh start [--config file] [--set key=value ...]   the embedded system (make run)
 *   perpmesh status | balance | positions | orders | funding    what a running system says
 *   perpmesh cancel-all [--venue v] [--account a] [--yes]       cancel open orders
 *   perpmesh replay projections [--session dir] [--from/--to b]  rebuild projections from the log, compare
 *   perpmesh replay strategy <id> [--set key=value ...]          re-run a strategy over its input journal
 *   perpmesh explain <client_order_id | event id>               the decision and inputs behind an order
 *   perpmesh backtest <config> --tape synthetic:<seed>:<duration> a strategy over a synthetic tape
 *   perpmesh arbs [--strategy-id id] [--all]                   funding-arb book: PnL split, break-even, alarms
 *   perpmesh halt | reduce | resume                             the trading state (kill switch),
 *                                                               on the strategy service
 *   perpmesh selftest signers [--vectors file ...]              signer known-answer vectors
 * Operator commands print tables, or JSON with --json; service addresses and the token come
 * from the config (cli-config.ts). Exit codes: see cli-errors.ts.
 */
import { createInterface } from 'node:readline/promises';
import { ValidationError } from '@perpmesh/core';
import { ConfigError } from '@perpmesh/runtime';
import { Command } from 'commander';
import { type ArbsOptions, arbsCommand } from './arbs.js';
import type { BacktestFlags } from './backtest/command.js';
import { type CliTargetOptions, resolveCliTargets } from './cli-config.js';
import { CliError, EXIT_FAILED, EXIT_UNAVAILABLE } from './cli-errors.js';
import {
  balanceCommand,
  type CommandIo,
  cancelAllCommand,
  fundingCommand,
  type OrderLookupOptions,
  orderCommand,
  ordersCommand,
  positionsCommand,
  statusCommand,
} from './commands.js';
import { OperatorApi } from './operator-api.js';
import {
  type ExplainFlags,
  explainCommand,
  type ReplayProjectionsFlags,
  type ReplayStrategyFlags,
  replayProjectionsCommand,
  replayStrategyCommand,
} from './replay/commands.js';
import { selftestSignersCommand } from './selftest-signers.js';
import { TRADING_STATE_OF_COMMAND, type TradingStateCommand, tradingStateCommand } from './trading-state.js';

export interface RunCliOptions {
  /** Default process.stdout. */
  out?: NodeJS.WritableStream;
  /** Default process.stderr. */
  err?: NodeJS.WritableStream;
  /** Asks the operator; default: a prompt on the terminal when stdin is one. */
  confirm?: ((question: string) => Promise<boolean>) | null;
  env?: Readonly<Record<string, string | undefined>>;
  nowMs?: () => number;
}

interface GlobalOptions extends CliTargetOptions {
  json?: boolean;
}

function terminalConfirm(err: NodeJS.WritableStream): ((question: string) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: err });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  };
}

export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const env = options.env ?? process.env;
  const nowMs = options.nowMs ?? Date.now;
  const io: CommandIo = {
    out,
    err,
    confirm: options.confirm === null ? undefined : (options.confirm ?? terminalConfirm(err)),
  };
  let exitCode = 0;
  const program = new Command()
    .name('perpmesh')
    .description('Event-sourced trading for perpetual futures across venues')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => out.write(text),
      writeErr: (text) => err.write(text),
    })
    .addHelpText(
      'after',
      '\nOperator commands talk to the running services over gRPC. Addresses: the flags, else\n' +
        'cli.executionAddress / accountAddress / marketDataAddress / strategyAddress in the config,\n' +
        'else 127.0.0.1:<execution|account|marketData|strategy.grpcPort>. Token: PERPMESH_TOKEN\n' +
        '(auth.token in the config).\n' +
        'Exit codes: 0 done; 1 refused, not ready or not confirmed; 2 a service is unreachable,\n' +
        'the token is missing or wrong, or the config or a flag is invalid.',
    );

  program
    .command('start')
    .description('run every service in one process: paper venues, event log and store under dataDir')
    .option('--config <file>', 'config file (default config/perpmesh.yaml, or PERPMESH_CONFIG)')
    .option('--set <key=value...>', 'override a config key, e.g. --set paper.seed=7')
    .action(async (opts: { config?: string; set?: string[] }) => {
      const args = [
        ...(opts.config ? ['--config', opts.config] : []),
        ...(opts.set ?? []).flatMap((kv) => ['--set', kv]),
      ];
      // Loaded on demand: the operator commands should not pay for the whole system.
      const { startEmbedded } = await import('./start.js');
      exitCode = await startEmbedded({ argv: args });
    });

  /** The options every operator command takes, then its action with errors as one line. */
  const operator = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .option('--config <file>', 'config file (default config/perpmesh.yaml, or PERPMESH_CONFIG)')
      .option('--execution <host:port>', 'execution service address')
      .option('--account-service <host:port>', 'account service address')
      .option('--market-data <host:port>', 'market-data service address')
      .option('--timeout <duration>', 'per call, e.g. 5s (default cli.timeout, 5s)')
      .option('--json', 'machine-readable output (decimals as strings, times in ms since epoch)');

  const run =
    <O extends GlobalOptions>(name: string, body: (api: OperatorApi, opts: O) => Promise<number>) =>
    async (opts: O) => {
      let api: OperatorApi | undefined;
      try {
        api = new OperatorApi(resolveCliTargets(opts, env));
        exitCode = await body(api, opts);
      } catch (e) {
        exitCode = reportError(name, e, err);
      } finally {
        api?.close();
      }
    };

  operator('status', 'health of each service and readiness of each venue, per component, with reasons')
    .option('--venue <venue>', 'only this venue')
    .action(
      run('status', (api, opts: GlobalOptions & { venue?: string }) => statusCommand(api, opts, io, nowMs)),
    );

  operator('balance', 'balances per venue and account, with their as-of age (STALE when too old)')
    .option('--venue <venue>', 'only this venue')
    .option('--account <account>', 'only this account id')
    .action(
      run('balance', (api, opts: GlobalOptions & { venue?: string; account?: string }) =>
        balanceCommand(api, opts, io),
      ),
    );

  operator('positions', 'open positions: entry, mark, uPnL, liquidation distance, age')
    .option('--venue <venue>', 'only this venue')
    .option('--account <account>', 'only this account id')
    .option('--instrument <instrument>', 'only this instrument, e.g. BTC-USDC-PERP')
    .option('--all', 'include flat positions')
    .action(
      run('positions', (api, opts: GlobalOptions & { venue?: string; account?: string; all?: boolean }) =>
        positionsCommand(api, opts, io),
      ),
    );

  operator('orders', 'open orders known to the execution service')
    .option('--venue <venue>', 'only this venue')
    .option('--account <account>', 'only this account id')
    .option('--instrument <instrument>', 'only this instrument')
    .action(
      run('orders', (api, opts: GlobalOptions & { venue?: string; account?: string }) =>
        ordersCommand(api, opts, io, nowMs),
      ),
    );

  operator('order <id>', 'one order, open or finished, by client order id (or --venue-order-id): every field')
    .requiredOption('--venue <venue>', 'the venue the order is on')
    .option('--account <account>', 'the account id', 'main')
    .option(
      '--instrument <instrument>',
      'its instrument (needed to look a finished order up by venue order id)',
    )
    .option('--venue-order-id', '<id> is the venue order id, not the client order id')
    .action((id: string, opts: GlobalOptions & OrderLookupOptions) =>
      run('order', (api, o: GlobalOptions & OrderLookupOptions) => orderCommand(api, id, o, io, nowMs))(opts),
    );

  operator('funding', 'funding rates: raw, interval, per hour and annualized, for every venue and instrument')
    .option('--venue <venue>', 'only this venue')
    .option('--instrument <instrument>', 'only this instrument')
    .action(
      run('funding', (api, opts: GlobalOptions & { venue?: string }) => fundingCommand(api, opts, io, nowMs)),
    );

  operator('cancel-all', 'cancel every open order, on every account or on --venue / --account')
    .option('--venue <venue>', 'only this venue')
    .option('--account <account>', 'only this account id')
    .option('--instrument <instrument>', 'only orders in this instrument')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(
      run('cancel-all', (api, opts: GlobalOptions & { venue?: string; account?: string; yes?: boolean }) =>
        cancelAllCommand(api, opts, io, nowMs),
      ),
    );

  operator(
    'arbs',
    'funding-arb book: PnL split (funding, basis, fees, slippage) and break-even per arb and in total, alarms, breakers',
  )
    .option('--strategy <host:port>', 'strategy service address')
    .option('--strategy-id <id>', 'only this strategy instance (default: every funding-arb one)')
    .option('--all', 'list closed arbs too')
    .action(run('arbs', (api, opts: GlobalOptions & ArbsOptions) => arbsCommand(api, opts, io, nowMs)));

  const stateHelp: Record<TradingStateCommand, string> = {
    halt: 'kill switch: HALTED, strategies cancel their open orders and place nothing new',
    reduce: 'REDUCING: strategies only place reduce-only orders',
    resume: 'ACTIVE: strategies trade as configured again',
  };
  for (const command of Object.keys(TRADING_STATE_OF_COMMAND) as TradingStateCommand[]) {
    operator(command, stateHelp[command])
      .option('--strategy <host:port>', 'strategy service address')
      .option('--strategy-id <id>', 'only this strategy instance (default: every one the service runs)')
      .option('--reason <text>', 'why, kept in the decision record')
      .action(
        run(command, (api, opts: GlobalOptions & { reason?: string; strategyId?: string }) =>
          tradingStateCommand(api, command, opts, io),
        ),
      );
  }

  program
    .command('selftest')
    .description('known-answer self-tests')
    .command('signers')
    .description("run signer vectors files (Lighter, Extended), or every signer's bundled vectors")
    .option('--vectors <file...>', 'vectors file(s) in the format of libs/signing/vectors/*.json')
    .action(async (opts: { vectors?: string[] }) => {
      exitCode = await selftestSignersCommand(opts, io);
    });

  const replay = program
    .command('replay')
    .description('re-run the log read-only: rebuild projections, compare with the live ones');
  replay
    .command('projections')
    .description(
      'rebuild positions, funding and order states from EXEC/ACCT and compare them with the live ones ' +
        'at the same applied sequences (exit 1 on any difference)',
    )
    .option('--session <dir>', 'embedded session directory (default: the newest under --data-dir/sessions)')
    .option('--data-dir <dir>', 'where the sessions are (default ./data, or PERPMESH_DATA_DIR)')
    .option('--nats <url>', 'a distributed deployment: JetStream at this URL (with --redis)')
    .option('--redis <url>', 'a distributed deployment: its Redis (with --nats)')
    .option('--namespace <name>', "the deployment's namespace, if it has one")
    .option('--key-prefix <prefix>', 'redis.keyPrefix of the deployment (default pm:)')
    .option('--consumer-name <name>', "the account service's consumerName (default account)")
    .option('--from <bound...>', 'compare from STREAM=seq (e.g. EXEC=120) or a time (ISO with zone, or ms)')
    .option('--to <bound...>', 'rebuild and compare up to STREAM=seq or a time')
    .option('--json', 'the report as JSON')
    .action(async (opts: ReplayProjectionsFlags) => {
      try {
        exitCode = await replayProjectionsCommand(
          { ...opts, dataDir: opts.dataDir ?? env.PERPMESH_DATA_DIR },
          io,
        );
      } catch (e) {
        exitCode = reportError('replay projections', e, err);
      }
    });

  replay
    .command('strategy <id>')
    .description(
      "feed a strategy's input journal through the same stepper (orders to a recorder): " +
        'report the first non-determinism (exit 1), or with --set how decisions would differ',
    )
    .option('--session <dir>', 'embedded session directory (default: the newest under --data-dir/sessions)')
    .option('--data-dir <dir>', 'where the sessions are (default ./data, or PERPMESH_DATA_DIR)')
    .option('--nats <url>', 'a distributed deployment: JetStream at this URL')
    .option('--redis <url>', 'a distributed deployment: its Redis (with --nats)')
    .option('--namespace <name>', "the deployment's namespace, if it has one")
    .option('--set <key=value...>', 'override a strategy config key, e.g. --set entryThresholdBps=5')
    .option('--from-input <n>', 'start mid-history: from the nearest snapshot at or before input #n')
    .option('--json', 'the report as JSON')
    .action(async (id: string, opts: ReplayStrategyFlags) => {
      try {
        exitCode = await replayStrategyCommand(
          id,
          { ...opts, dataDir: opts.dataDir ?? env.PERPMESH_DATA_DIR },
          io,
        );
      } catch (e) {
        exitCode = reportError('replay strategy', e, err);
      }
    });

  program
    .command('explain <id>')
    .description(
      'why an order, fill or cancel happened: the decision behind it and the inputs it was made from ' +
        '(funding rates, books, balances), as a timeline; <id> is a client order id, an event id or a decision id',
    )
    .option('--session <dir>', 'embedded session directory (default: the newest under --data-dir/sessions)')
    .option('--data-dir <dir>', 'where the sessions are (default ./data, or PERPMESH_DATA_DIR)')
    .option('--nats <url>', 'a distributed deployment: JetStream at this URL')
    .option('--redis <url>', 'a distributed deployment: its Redis (with --nats)')
    .option('--namespace <name>', "the deployment's namespace, if it has one")
    .option('--json', 'the explanation as JSON')
    .action(async (id: string, opts: ExplainFlags) => {
      try {
        exitCode = await explainCommand(id, { ...opts, dataDir: opts.dataDir ?? env.PERPMESH_DATA_DIR }, io);
      } catch (e) {
        exitCode = reportError('explain', e, err);
      }
    });

  program
    .command('backtest <config>')
    .description(
      "run the config's strategy over a tape on the paper venues with a manual clock, as fast as possible: " +
        'a summary (PnL by funding, price/basis, fees, slippage; drawdown; one-legged exposure) and an HTML equity chart',
    )
    .requiredOption('--tape <tape>', 'synthetic:<seed>:<duration>, e.g. synthetic:7:24h')
    .option('--strategy <id>', 'which strategy instance (default: the first in strategy.instances)')
    .option('--step <duration>', 'world step and tick interval (default strategy.tickInterval)')
    .option(
      '--param <key=value...>',
      "override a key of the strategy's config, e.g. --param entryThresholdBps=2",
    )
    .option(
      '--set <key=value...>',
      'override a config key as `start` does, e.g. --set strategy.tickInterval=5s',
    )
    .option('--chart <file>', 'where the HTML chart goes (default <dataDir>/backtests/...)')
    .option('--json', 'the summary as JSON (exact decimals)')
    .action(async (config: string, opts: BacktestFlags) => {
      try {
        const { backtestCommand } = await import('./backtest/command.js');
        exitCode = await backtestCommand(config, opts, io, env);
      } catch (e) {
        exitCode = reportError('backtest', e, err);
      }
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? code : EXIT_FAILED;
  }
  return exitCode;
}

/** One line on stderr, never a stack trace; returns the exit code. */
function reportError(command: string, e: unknown, err: NodeJS.WritableStream): number {
  if (e instanceof CliError) {
    err.write(`perpmesh ${command}: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof ConfigError || e instanceof ValidationError) {
    err.write(`perpmesh ${command}: ${e.message}\n`);
    return EXIT_UNAVAILABLE;
  }
  const message = e instanceof Error ? e.message : String(e);
  err.write(`perpmesh ${command}: unexpected error: ${message.split('\n')[0]}\n`);
  return EXIT_FAILED;
}
