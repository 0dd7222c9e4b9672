/** Entry point of the `perpmesh` command (bin/perpmesh.js runs the compiled form). */
import { restartWithYoungGeneration } from './young-generation.js';

const argv = process.argv.slice(2);
// A backtest steps a simulated world: it runs with the larger young generation
// (young-generation.ts), so this process hands it to a child node started with it.
const restarted = argv[0] === 'backtest' ? await restartWithYoungGeneration() : undefined;
if (restarted !== undefined) process.exitCode = restarted;
else {
  // Loaded only here: the process that hands a backtest on never loads the whole CLI.
  const { runCli } = await import('./main.js');
  process.exitCode = await runCli(argv);
}
