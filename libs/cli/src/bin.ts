/** Entry point of the `perpmesh` command (bin/perpmesh.js runs the compiled form). */
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
