import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect as tlsConnect, createServer, type ConnectionOptions, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CA_COMMON_NAME,
  certificateChildCommand,
  ensureCertificates,
  loadUserCertificates,
  trustHints,
  type TlsMaterial,
} from '../../src/server/tls/certificates.js';

const AMAZON_HOST = 'b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9-1.mq.us-east-1.amazonaws.com';

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // dual-stack: one listener serves 127.0.0.1 and ::1
    server.listen({ port: 0, host: '::', ipv6Only: false }, () => resolve((server.address() as AddressInfo).port));
  });
}

/** connect, wait for the server's greeting, report what the client saw */
function tlsHello(options: ConnectionOptions): Promise<{ authorized: boolean; data: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(options);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve({ authorized: socket.authorized, data }));
    socket.on('error', reject);
  });
}

describe('generated certificates, served by node:tls', () => {
  let material: TlsMaterial;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    material = await ensureCertificates({ hostnames: [AMAZON_HOST] });
    server = createServer({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }, (socket) => {
      socket.end('hello');
    });
    port = await listen(server);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('issues a CA and a server certificate signed by it', () => {
    const ca = new X509Certificate(material.ca);
    const cert = new X509Certificate(material.cert);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain(`CN=${CA_COMMON_NAME}`);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain(`DNS:${AMAZON_HOST}`);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(days).toBeLessThanOrEqual(398);
    expect(material.caFile).toBeUndefined();
  });

  it('verifies over 127.0.0.1 with servername localhost', async () => {
    const result = await tlsHello({ host: '127.0.0.1', port, ca: material.ca, servername: 'localhost' });
    expect(result).toEqual({ authorized: true, data: 'hello' });
  });

  it('verifies by IP address SAN on 127.0.0.1 and ::1', async () => {
    expect(await tlsHello({ host: '127.0.0.1', port, ca: material.ca })).toEqual({ authorized: true, data: 'hello' });
    expect(await tlsHello({ host: '::1', port, ca: material.ca })).toEqual({ authorized: true, data: 'hello' });
    expect(await tlsHello({ host: '::1', port, ca: material.ca, servername: 'localhost' })).toEqual({
      authorized: true,
      data: 'hello',
    });
  });

  it('verifies the extra Amazon-style host name', async () => {
    const result = await tlsHello({ host: '127.0.0.1', port, ca: material.ca, servername: AMAZON_HOST });
    expect(result.authorized).toBe(true);
  });

  it('refuses a name the certificate does not cover, and an untrusting client', async () => {
    await expect(
      tlsHello({ host: '127.0.0.1', port, ca: material.ca, servername: 'other.example.com' }),
    ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(tlsHello({ host: '127.0.0.1', port, servername: 'localhost' })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('survives a plaintext client on the TLS port and serves the next TLS client', async () => {
    let localPort = -1;
    const serverSawIt = new Promise<Error>((resolve) => {
      const onError = (err: Error, tlsSocket: TLSSocket) => {
        if (tlsSocket.remotePort !== localPort) return;
        server.off('tlsClientError', onError);
        resolve(err);
      };
      server.on('tlsClientError', onError);
    });
    const closed = new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => {
        localPort = socket.localPort!;
        socket.write('AMQP\x00\x00\x09\x01');
      });
      socket.on('error', () => {}); // a reset is as good as a close here
      socket.on('close', () => resolve());
      socket.setTimeout(10_000, () => reject(new Error('server kept a plaintext client open')));
    });
    await closed;
    expect((await serverSawIt).message).toMatch(/wrong version number|http request|unknown protocol/i);
    const result = await tlsHello({ host: '127.0.0.1', port, ca: material.ca, servername: 'localhost' });
    expect(result).toEqual({ authorized: true, data: 'hello' });
  });
});

describe('certificates kept in a directory', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'localmq-tls-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the four files, keys readable only by their owner, and reuses them', async () => {
    const first = await ensureCertificates({ dir, hostnames: [] });
    expect(first.caFile).toBe(join(dir, 'ca.pem'));
    expect(await readFile(join(dir, 'ca.pem'), 'utf8')).toBe(first.ca);
    expect(await readFile(join(dir, 'server.pem'), 'utf8')).toBe(first.cert);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'server-key.pem'))).mode & 0o777).toBe(0o600);

    const second = await ensureCertificates({ dir, hostnames: [] });
    expect(second).toEqual(first);
  });

  it('reissues the server certificate for a new host name, keeping the CA', async () => {
    const before = await ensureCertificates({ dir, hostnames: [] });
    const after = await ensureCertificates({ dir, hostnames: [AMAZON_HOST] });
    expect(after.ca).toBe(before.ca);
    expect(after.cert).not.toBe(before.cert);
    expect(new X509Certificate(after.cert).checkHost(AMAZON_HOST)).toBe(AMAZON_HOST);
    // a subset of the names already covered changes nothing
    expect(await ensureCertificates({ dir, hostnames: ['localhost'] })).toEqual(after);
  });

  it('reissues a server certificate close to expiry, keeping the CA', async () => {
    const before = await ensureCertificates({ dir, hostnames: [] });
    const later = new Date(Date.now() + 380 * 86_400_000);
    const after = await ensureCertificates({ dir, hostnames: [], now: later });
    expect(after.ca).toBe(before.ca);
    expect(after.cert).not.toBe(before.cert);
  });

  it('replaces a damaged CA and everything it signed', async () => {
    const before = await ensureCertificates({ dir, hostnames: [] });
    await writeFile(join(dir, 'ca.pem'), 'not a certificate');
    const after = await ensureCertificates({ dir, hostnames: [] });
    expect(after.ca).not.toBe(before.ca);
    expect(new X509Certificate(after.cert).checkIssued(new X509Certificate(after.ca))).toBe(true);
  });

  it('loads user-supplied files and rejects a key that does not match', async () => {
    const material = await ensureCertificates({ dir, hostnames: [] });
    const loaded = await loadUserCertificates({
      certFile: material.certFile!,
      keyFile: material.keyFile!,
      caFile: material.caFile!,
    });
    expect(loaded.cert).toBe(material.cert);
    expect(loaded.key).toBe(material.key);
    expect(loaded.ca).toBe(material.ca);
    await expect(
      loadUserCertificates({ certFile: material.certFile!, keyFile: join(dir, 'ca-key.pem') }),
    ).rejects.toThrow(/does not belong to the certificate/);
    await expect(loadUserCertificates({ certFile: join(dir, 'missing.pem'), keyFile: material.keyFile! })).rejects.toThrow(
      /missing\.pem cannot be read: ENOENT/,
    );
  });
});

describe('certificates made in a child process (issue 18: node-forge stays out of a running broker)', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // what the built package runs (node dist/server/tls/generate-child.js), from the sources here
  const child = [process.execPath, '--import', pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href, join(root, 'src/server/tls/generate-child.ts')];
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'localmq-tls-child-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('run from the TypeScript sources, certificates are made in this process', () => {
    expect(certificateChildCommand()).toBeUndefined();
  });

  it('writes a CA and a server certificate it signed, for every name, and reuses them', async () => {
    const made = await ensureCertificates({ dir, hostnames: [AMAZON_HOST], childCommand: child });
    const ca = new X509Certificate(made.ca);
    const cert = new X509Certificate(made.cert);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain(`CN=${CA_COMMON_NAME}`);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost(AMAZON_HOST)).toBe(AMAZON_HOST);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(await readFile(join(dir, 'server-key.pem'), 'utf8')).toBe(made.key);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    // the server key belongs to the certificate: a TLS server starts with them
    const server = createServer({ cert: made.cert, key: made.key }, (s) => s.end('ok'));
    const port = await listen(server);
    try {
      expect(await tlsHello({ host: '127.0.0.1', port, servername: 'localhost', ca: made.ca })).toEqual({ authorized: true, data: 'ok' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await ensureCertificates({ dir, hostnames: [AMAZON_HOST], childCommand: child })).toEqual(made);
  });

  it('a child that fails rejects with what it printed, and writes nothing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'localmq-tls-child-fail-'));
    try {
      await expect(
        ensureCertificates({ dir: empty, hostnames: [], childCommand: [process.execPath, '-e', 'process.stderr.write("no entropy"); process.exit(3)'] }),
      ).rejects.toThrow(/certificate generation failed \(exit 3\): no entropy/);
      await expect(stat(join(empty, 'ca.pem'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('trustHints', () => {
  it('names the CA file for Node, pika and paho', () => {
    const lines = trustHints('/home/me/.localmq/tls/ca.pem');
    expect(lines).toEqual([
      'Node.js:        NODE_EXTRA_CA_CERTS=/home/me/.localmq/tls/ca.pem',
      'Python (pika):  ssl_options=pika.SSLOptions(ssl.create_default_context(cafile="/home/me/.localmq/tls/ca.pem"))',
      'Python (paho):  client.tls_set(ca_certs="/home/me/.localmq/tls/ca.pem")',
    ]);
    expect(trustHints("/tmp/my dir/ca.pem")[0]).toBe("Node.js:        NODE_EXTRA_CA_CERTS='/tmp/my dir/ca.pem'");
  });
});
