/**
 * Which configured venues are EMULATED: their REST base URL (where orders, cancels and
 * balance reads go) is a loopback address at the port of an emulator this process starts
 * (the `emulators` section with `start: true`). Nothing else counts: a loopback URL without
 * an emulator of ours behind it (a local proxy to a real venue, an emulator someone else
 * runs) is not called emulated, and a venue on a remote host never is. The flag reaches
 * market data's GetVenueStatus (`emulated`), so `perpmesh status`, the dashboard's EMULATED
 * badge and the `make run` ready line all say it from one answer.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

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

function defaultPort(protocol: string): number {
  return protocol === 'https:' || protocol === 'wss:' ? 443 : 80;
}

/** The venue ids whose `baseUrl` points at one of `ports` on loopback, sorted. */
export function emulatedVenueIds(
  venues: Readonly<Record<string, unknown>>,
  ports: readonly number[],
): string[] {
  if (ports.length === 0) return [];
  const out: string[] = [];
  for (const [id, venue] of Object.entries(venues)) {
    const baseUrl = (venue as { baseUrl?: unknown } | null)?.baseUrl;
    if (typeof baseUrl !== 'string') continue;
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      continue; // config parsing already refused it
    }
    const port = url.port === '' ? defaultPort(url.protocol) : Number(url.port);
    if (LOOPBACK_HOSTS.has(url.hostname) && ports.includes(port)) out.push(id);
  }
  return out.sort();
}
