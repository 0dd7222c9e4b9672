/**
 * Test certificates made with openssl: a CA, a server certificate for 127.0.0.1 / localhost
 * and a client certificate (clientAuth), all EC P-256 and valid for one day. For gRPC TLS
 * and mutual-TLS tests; the paths fit the `tls` config section.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface TestCertificates {
  readonly server: TestCertificateFiles;
  readonly client: TestCertificateFiles;
}

/** Writes the CA, server and client certificates and keys into `dir` (an existing folder). */
export function makeTestCertificates(dir: string): TestCertificates {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=perpmesh test CA',
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client']) {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=perpmesh ${name}`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  }
  const at = (file: string) => join(dir, file);
  return {
    server: { certFile: at('server.crt'), keyFile: at('server.key'), caFile: at('ca.crt') },
    client: { certFile: at('client.crt'), keyFile: at('client.key'), caFile: at('ca.crt') },
  };
}
