/**
 * A tiny stand-in service for harness.e2e.test.ts. PERPMESH_HARNESS_CHILD says how it ends:
 * `exit-3` exits 3 on its own, `self-kill` dies by SIGKILL on its own, `clean` runs until
 * SIGTERM and exits 0, `dirty` exits 1 on SIGTERM.
 */
const mode = process.env.PERPMESH_HARNESS_CHILD ?? 'clean';
const alive = setInterval(() => {}, 60_000);
if (mode === 'exit-3') setTimeout(() => process.exit(3), 10);
if (mode === 'self-kill') setTimeout(() => process.kill(process.pid, 'SIGKILL'), 10);
process.on('SIGTERM', () => {
  clearInterval(alive);
  process.exit(mode === 'dirty' ? 1 : 0);
});
// Announced only once the SIGTERM handler is in: a test that stops the child on this line
// must never meet node's default SIGTERM (a death by signal instead of the exit it expects).
process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'child running', mode })}\n`);
