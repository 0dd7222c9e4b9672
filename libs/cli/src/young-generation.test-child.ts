/**
 * A process that restarts itself with the world's young generation (young-generation.int.test.ts):
 * the restarted child prints its pid and its semi-space flag, then waits to be stopped.
 */
import { restartWithYoungGeneration, WORLD_SEMI_SPACE_FLAG } from './young-generation.js';

const restarted = await restartWithYoungGeneration();
if (restarted !== undefined) process.exit(restarted);
console.log(
  `child ${process.pid} ${process.execArgv.includes(WORLD_SEMI_SPACE_FLAG) ? 'with' : 'without'} the flag`,
);
setInterval(() => undefined, 60_000);
