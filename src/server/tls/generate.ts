import { createPublicKey, generateKeyPair as generateKeyPairCallback, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge, { type pki } from 'node-forge';

const generateKeyPair = promisify(generateKeyPairCallback);

export { CA_COMMON_NAME, CA_VALIDITY_DAYS, SERVER_VALIDITY_DAYS } from './cert-constants.js';
import { CA_COMMON_NAME, CA_VALIDITY_DAYS, SERVER_VALIDITY_DAYS } from './cert-constants.js';

const DAY_MS = 86_400_000;
/** tolerate clocks a little behind ours (containers, VMs) */
const BACKDATE_MS = 60 * 60 * 1000;

export interface PemPair {
  cert: string;
  key: string;
}

/** RSA 2048: every client's OpenSSL accepts it, including old pika / paho builds */
async function newKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  return generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** 16 random bytes, high bit clear so the DER integer stays positive */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(cert: pki.Certificate, days: number, now: Date): void {
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
}

/** Create the self-signed local CA that signs LocalMQ's server certificates. */
export async function generateCa(now = new Date()): Promise<PemPair> {
  const keys = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = randomSerial();
  validity(cert, CA_VALIDITY_DAYS, now);
  const name = [
    { name: 'commonName', value: CA_COMMON_NAME },
    { name: 'organizationName', value: 'LocalMQ' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  const keyId = cert.generateSubjectKeyIdentifier().getBytes();
  // critical basicConstraints + keyUsage + SKI/AKI: what Python 3.13's strict X.509 checks want
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier', subjectKeyIdentifier: forge.util.bytesToHex(keyId) },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyId },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.privateKey };
}

export interface ServerCertificateRequest {
  ca: PemPair;
  /** DNS names and IP addresses the certificate is valid for; the first DNS name becomes the CN */
  hostnames: readonly string[];
  now?: Date;
  /** reuse this private key (PEM) instead of generating one: issuing is then a signature, not an RSA key generation */
  key?: string;
}

/** Issue a TLS server certificate for `hostnames`, signed by the CA. */
export async function generateServerCertificate(request: ServerCertificateRequest): Promise<PemPair> {
  const { ca, hostnames } = request;
  const now = request.now ?? new Date();
  if (hostnames.length === 0) throw new Error('a server certificate needs at least one host name');
  const keys = request.key ? { privateKey: request.key, publicKey: publicKeyPemOfKey(request.key) } : await newKeyPair();
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const caPublicKey = forge.pki.publicKeyFromPem(publicKeyPemOf(ca.cert));

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
  cert.serialNumber = randomSerial();
  validity(cert, SERVER_VALIDITY_DAYS, now);
  const commonName = hostnames.find((h) => isIP(h) === 0) ?? hostnames[0]!;
  cert.setSubject([
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'LocalMQ' },
  ]);
  cert.setIssuer([
    { name: 'commonName', value: CA_COMMON_NAME },
    { name: 'organizationName', value: 'LocalMQ' },
  ]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: uniqueNames(hostnames).map(altName) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifierOf(caPublicKey) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.privateKey };
}

function altName(host: string): { type: number; value?: string; ip?: string } {
  return isIP(host) === 0 ? { type: 2, value: host } : { type: 7, ip: host };
}

function uniqueNames(hostnames: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const host of hostnames) {
    const key = host.toLowerCase();
    if (host === '' || seen.has(key)) continue;
    seen.add(key);
    out.push(host);
  }
  return out;
}

/** the CA's SKI, recomputed the same way generateCa made it (SHA-1 of the public key) */
function keyIdentifierOf(publicKey: pki.PublicKey): string {
  const probe = forge.pki.createCertificate();
  probe.publicKey = publicKey;
  return probe.generateSubjectKeyIdentifier().getBytes();
}

function publicKeyPemOfKey(keyPem: string): string {
  return createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString();
}

function publicKeyPemOf(certPem: string): string {
  return new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}
