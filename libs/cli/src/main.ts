/**
 * The `perpmesh` command.
 *   perpmesh start [--config file] [--set key=value ...]   the embedded system (make run)
 *   perpmesh status | balance | positions | orders | funding    what a running system says
 *   perpmesh cancel-all [--venue v] [--account a] [--yes]       cancel open orders
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
import { type CliTargetOptions, resolveCliTargets } from './cli-config.js';
import { CliError, EXIT_FAILED, EXIT_UNAVAILABLE } from './cli-errors.js';
import {
  balanceCommand,
  type CommandIo,
  cancelAllCommand,
  fundingCommand,
  ordersCommand,
  positionsCommand,
  statusCommand,
} from './commands.js';
import { OperatorApi } from './operator-api.js';
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
