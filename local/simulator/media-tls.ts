import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The simulator's own certificate authority and the loopback certificate its media host presents. */
export interface MediaTls {
  /** PEM of the CA: what a client must trust (only in simulator mode) to reach the media host. */
  caPem: string;
  /** PEM key and certificate (for 127.0.0.1, ::1 and localhost) of the media host. */
  keyPem: string;
  certPem: string;
}

/**
 * A fresh CA and a leaf issued by it, made by the `openssl` command (present wherever the tests
 * run; Node 20 has no X.509 writer). P-256 keys, valid for 7 days, each start makes new ones:
 * nothing outside this process ever trusts them.
 */
export function createMediaTls(): MediaTls {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sim-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '7',
      '-subj',
      '/CN=WhatsApp simulator media CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    openssl('req', ...ec, '-keyout', file('leaf.key'), '-out', file('leaf.csr'), '-subj', '/CN=127.0.0.1');
    writeFileSync(
      file('leaf.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      ].join('\n'),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file('leaf.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '7',
      '-extfile',
      file('leaf.ext'),
      '-out',
      file('leaf.pem'),
    );
    return {
      caPem: readFileSync(file('ca.pem'), 'utf8'),
      keyPem: readFileSync(file('leaf.key'), 'utf8'),
      certPem: readFileSync(file('leaf.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
