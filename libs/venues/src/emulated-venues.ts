/**
 * Which configured venues are EMULATED: the one rule, used by the config check, market data
 * (GetVenueStatus `emulated`, so `perpmesh status`, the dashboard's EMULATED badge and the
 * `make run` ready line all say it from one answer) and `perpmesh start`. A venue is
 * emulated when its REST base URL (where orders, cancels and balance reads go) is a loopback
 * address and either
 * - the venue config says so (`venues.<id>.emulated: true`: an emulator run beside the
 *   services, e.g. `node libs/emulators/dist/main.js` in distributed mode), or
 * - it is at the port of an emulator this process starts (the `emulators` section with
 *   `start: true`).
 * Nothing else counts: a loopback URL without an emulator of ours behind it (a local proxy to
 * a real venue) is not called emulated, and a venue on a remote host never is, flag or not:
 * an emulator there is not ours to vouch for (the config refuses the flag on one).
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function defaultPort(protocol: string): number {
  return protocol === 'https:' || protocol === 'wss:' ? 443 : 80;
}

/** The port of `baseUrl` when it is a loopback address; undefined for any other URL. */
export function loopbackPort(baseUrl: unknown): number | undefined {
  if (typeof baseUrl !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return undefined; // config parsing already refused it
  }
  if (!LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return url.port === '' ? defaultPort(url.protocol) : Number(url.port);
}

/** The ports of the emulators the section starts: every `<venue>: { port }` entry. */
export function emulatorPorts(
  section: { readonly start: boolean } & Readonly<Record<string, unknown>>,
): number[] {
  if (!section.start) return [];
  const ports: number[] = [];
  for (const value of Object.values(section)) {
    const port = (value as { port?: unknown } | null)?.port;
    if (typeof value === 'object' && typeof port === 'number' && port > 0) ports.push(port);
  }
  return ports;
}

/**
 * The emulated venue ids, sorted: flagged `emulated: true` on loopback, or on loopback at one
 * of `ports` (the emulators this process starts; none by default).
 */
export function emulatedVenueIds(
  venues: Readonly<Record<string, unknown>>,
  ports: readonly number[] = [],
): string[] {
  const out: string[] = [];
  for (const [id, venue] of Object.entries(venues)) {
    const { baseUrl, emulated } = (venue ?? {}) as { baseUrl?: unknown; emulated?: unknown };
    const port = loopbackPort(baseUrl);
    if (port !== undefined && (emulated === true || ports.includes(port))) out.push(id);
  }
  return out.sort();
}
