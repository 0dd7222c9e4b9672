/**
 * Locked doors: what a process may listen on, and gRPC TLS from files.
 *
 * Every listener binds 127.0.0.1 unless its host setting opens it (`<section>.grpcHost`,
 * `<section>.http.host`). Listening beyond loopback needs a way to tell callers apart:
 * `auth.token` (a bearer token every gRPC call but health must carry) or mutual TLS
 * (`tls.requireClientCert`). Without either the process refuses to start, naming the
 * setting (`listenerExposureProblem`, checked by the app's `runServiceMain`).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { TlsSection } from './config-schemas.js';

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/** One listener of a parsed config: the dotted setting that places it and its host. */
export interface ListenerSetting {
  readonly setting: string;
  readonly host: string;
}

/** Every listener host in a parsed service config (`<section>.grpcHost`, `<section>.http.host`). */
export function listenerSettings(config: Readonly<Record<string, unknown>>): ListenerSetting[] {
  const found: ListenerSetting[] = [];
  for (const [key, section] of Object.entries(config)) {
    if (section === null || typeof section !== 'object' || Array.isArray(section)) continue;
    const s = section as { grpcHost?: unknown; http?: { host?: unknown } };
    if (typeof s.grpcHost === 'string') found.push({ setting: `${key}.grpcHost`, host: s.grpcHost });
    if (typeof s.http?.host === 'string') found.push({ setting: `${key}.http.host`, host: s.http.host });
  }
  return found;
}

interface ExposureConfig {
  readonly auth?: { readonly token?: unknown } | undefined;
  readonly tls?: Partial<TlsSection> | undefined;
}

/** True when callers are authenticated: a bearer token, or mutual TLS. */
export function callersAuthenticated(config: ExposureConfig): boolean {
  return (
    config.auth?.token !== undefined || (config.tls?.requireClientCert === true && !!config.tls.certFile)
  );
}

/**
 * Why this config may not start: a listener beyond loopback with neither `auth.token` nor
 * mutual TLS. Undefined when every listener is on loopback or callers are authenticated.
 * `listeners` defaults to the config's own (`listenerSettings`); a caller checking one
 * listener it places itself (a gRPC server) names that listener's setting directly.
 */
export function listenerExposureProblem(
  config: ExposureConfig & Readonly<Record<string, unknown>>,
  listeners: readonly ListenerSetting[] = listenerSettings(config),
): { setting: string; message: string } | undefined {
  if (callersAuthenticated(config)) return undefined;
  const exposed = listeners.find((l) => !isLoopbackHost(l.host));
  if (!exposed) return undefined;
  return {
    setting: exposed.setting,
    message:
      `${exposed.setting} is ${JSON.stringify(exposed.host)}, beyond loopback, but no auth.token is set: ` +
      'anyone who reaches it could trade. Set auth.token (e.g. auth: { token: { env: PERPMESH_TOKEN } }), ' +
      'or mutual TLS (tls.certFile, tls.keyFile, tls.caFile, tls.requireClientCert: true), ' +
      `or listen on 127.0.0.1 (${exposed.setting}: 127.0.0.1)`,
  };
}

type ReadFile = (path: string) => Buffer;
const readPem: ReadFile = (path) => readFileSync(path);

function pem(read: ReadFile, path: string, setting: string): Buffer {
  try {
    return read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read failed';
    throw new Error(`${setting}: cannot read ${path}: ${code}`);
  }
}

/** Server credentials: TLS when `tls.certFile` is set (mutual with `requireClientCert`), else plaintext. */
export function grpcServerCredentials(
  tls: Partial<TlsSection> | undefined,
  read: ReadFile = readPem,
): grpc.ServerCredentials {
  if (!tls?.certFile || !tls.keyFile) return grpc.ServerCredentials.createInsecure();
  const ca = tls.caFile ? pem(read, tls.caFile, 'tls.caFile') : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [
      {
        cert_chain: pem(read, tls.certFile, 'tls.certFile'),
        private_key: pem(read, tls.keyFile, 'tls.keyFile'),
      },
    ],
    tls.requireClientCert === true,
  );
}

/** True when this process's gRPC servers speak TLS. */
export function serverUsesTls(tls: Partial<TlsSection> | undefined): boolean {
  return !!tls?.certFile && !!tls.keyFile;
}

/**
 * Channel credentials for this process's gRPC clients: TLS when `tls.caFile` or
 * `tls.certFile` is set (verifying servers with `caFile`, else the system roots; presenting
 * `certFile`/`keyFile` as the client certificate), else plaintext.
 */
export function grpcChannelCredentials(
  tls: Partial<TlsSection> | undefined,
  read: ReadFile = readPem,
): grpc.ChannelCredentials {
  if (!tls?.caFile && !tls?.certFile) return grpc.credentials.createInsecure();
  const ca = tls.caFile ? pem(read, tls.caFile, 'tls.caFile') : null;
  const key = tls.keyFile ? pem(read, tls.keyFile, 'tls.keyFile') : null;
  const cert = tls.certFile ? pem(read, tls.certFile, 'tls.certFile') : null;
  return grpc.credentials.createSsl(ca, key, cert);
}
