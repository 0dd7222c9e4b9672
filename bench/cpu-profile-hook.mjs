// Profiles every node process it is preloaded into, child processes included (where
// `--cpu-prof` is refused in NODE_OPTIONS): writes <CPU_PROFILE_DIR>/<pid>.cpuprofile at exit.
//   CPU_PROFILE_DIR=/tmp/prof NODE_OPTIONS="--import $PWD/bench/cpu-profile-hook.mjs" node ... bench/orders.bench.ts
//   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.CPU_PROFILE_DIR ?? '/tmp/perpmesh-cpu-profiles';
mkdirSync(dir, { recursive: true });
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
let written = false;
process.on('exit', () => {
  if (written) return;
  written = true;
  // The main thread's session answers synchronously, so this runs to the end inside 'exit'.
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
