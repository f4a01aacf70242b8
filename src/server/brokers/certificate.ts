import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { amazonHostname } from '../endpoints.js';
import { CA_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE, certificateHostnames, generateServerCertificate } from '../tls/certificates.js';

/**
 * The instance's server certificate, for the names LocalMQ asks for (the host name and the
 * broker's Amazon-style names), signed by the local CA with the CA directory's server key:
 * a signature instead of an RSA key generation, so a broker is created in milliseconds.
 * An existing certificate that still fits is kept (LocalMQ checks it at start).
 */
export async function issueCertificate(spec: { brokerId: string; region: string; hostname: string; caDir: string }, tlsDir: string): Promise<void> {
  if (existsSync(join(tlsDir, SERVER_CERT_FILE))) return;
  const identity = { brokerId: spec.brokerId, region: spec.region };
  const names = certificateHostnames([
    spec.hostname,
    amazonHostname(identity, 'rabbitmq'),
    amazonHostname(identity, 'activemq'),
    amazonHostname(identity, 'activemq', 2),
  ]);
  const [caCert, caKey, key] = await Promise.all([CA_FILE, CA_KEY_FILE, SERVER_KEY_FILE].map((f) => readFile(join(spec.caDir, f), 'utf8')));
  const server = await generateServerCertificate({ ca: { cert: caCert!, key: caKey! }, hostnames: names, key: key! });
  await writeFile(join(tlsDir, SERVER_KEY_FILE), server.key, { mode: 0o600 });
  await writeFile(join(tlsDir, SERVER_CERT_FILE), server.cert);
}

