// Container healthcheck without curl: node deploy/healthcheck.mjs [port] [path...]
// Exits 0 when every http://127.0.0.1:<port><path> answers 2xx within 2 s. Port: the
// argument, else $PERPMESH_HEALTH_PORT, else 8080; paths: the arguments, else /readyz.
const [portArg, ...pathArgs] = process.argv.slice(2);
const port = portArg ?? process.env.PERPMESH_HEALTH_PORT ?? '8080';
const paths = pathArgs.length > 0 ? pathArgs : ['/readyz'];
try {
  for (const path of paths) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) process.exit(1);
  }
  process.exit(0);
} catch {
  process.exit(1);
}
