/**
 * The `perpmesh` command.
 *   perpmesh start [--config file] [--set key=value ...]   the embedded system (make run)
 */
import { Command } from 'commander';
import { startEmbedded } from './start.js';

export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('perpmesh')
    .description('Event-sourced trading for perpetual futures across venues')
    .showHelpAfterError()
    .exitOverride();
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
      exitCode = await startEmbedded({ argv: args });
    });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
  return exitCode;
}
