import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { PemPair, ServerCertificateRequest } from './generate.js';

export { CA_COMMON_NAME, CA_VALIDITY_DAYS, SERVER_VALIDITY_DAYS } from './cert-constants.js';

// node-forge (~11 MiB of RSS) loads only when a certificate has to be made, not when the
// data dir already holds one (issue 18: idle RSS)
export async function generateCa(now?: Date): Promise<PemPair> {
  return (await import('./generate.js')).generateCa(now);
}
export async function generateServerCertificate(request: ServerCertificateRequest): Promise<PemPair> {
  return (await import('./generate.js')).generateServerCertificate(request);
}
export { trustHints } from './trust-hints.js';

/** PEM strings ready for tls.createServer / tls.connect */
export interface TlsMaterial {
  /** the CA certificate clients must trust */
  ca: string;
  cert: string;
  key: string;
  /** where the CA certificate lives on disk, for trust hints; absent when generated in memory */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface EnsureCertificatesOptions {
  /** keep the CA and server certificate here across runs; omit to generate them in memory */
  dir?: string;
  /** names beyond the defaults (localhost, 127.0.0.1, ::1, this machine's name) */
  hostnames: readonly string[];
  now?: Date;
}

export const CA_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const SERVER_CERT_FILE = 'server.pem';
export const SERVER_KEY_FILE = 'server-key.pem';

/** a server certificate this close to expiry is reissued at startup */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/** The names every local certificate covers, then the caller's, without duplicates. */
export function certificateHostnames(extra: readonly string[] = []): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname(), ...extra];
  const seen = new Set<string>();
  return names.filter((name) => {
    const key = name.toLowerCase();
    if (name === '' || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Zero-setup TLS: a local CA and a server certificate for `hostnames`. With a `dir`, what is
 * there is reused (the CA always, the server certificate while it is sound and covers every
 * requested name), and anything missing or unusable is made again and written back.
 */
export async function ensureCertificates(options: EnsureCertificatesOptions): Promise<TlsMaterial> {
  const now = options.now ?? new Date();
  const names = certificateHostnames(options.hostnames);
  if (options.dir === undefined) {
    const ca = await generateCa(now);
    const server = await generateServerCertificate({ ca, hostnames: names, now });
    return { ca: ca.cert, cert: server.cert, key: server.key };
  }

  const dir = options.dir;
  const files = {
    ca: join(dir, CA_FILE),
    caKey: join(dir, CA_KEY_FILE),
    cert: join(dir, SERVER_CERT_FILE),
    key: join(dir, SERVER_KEY_FILE),
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });

  let ca = await readPair(files.ca, files.caKey);
  let caChanged = false;
  if (!ca || !isUsableCa(ca, now)) {
    ca = await generateCa(now);
    await writePair(ca, files.ca, files.caKey);
    caChanged = true;
  }

  let server = caChanged ? null : await readPair(files.cert, files.key);
  if (!server || !isUsableServerCertificate(server, ca, names, now)) {
    server = await generateServerCertificate({ ca, hostnames: names, now });
    await writePair(server, files.cert, files.key);
  }

  return {
    ca: ca.cert,
    cert: server.cert,
    key: server.key,
    caFile: files.ca,
    certFile: files.cert,
    keyFile: files.key,
  };
}

export interface UserCertificateFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

/** Load certificates the user brings (--tls-cert/--tls-key), failing early with the file at fault. */
export async function loadUserCertificates(files: UserCertificateFiles): Promise<TlsMaterial> {
  const cert = await readRequired(files.certFile, 'TLS certificate');
  const key = await readRequired(files.keyFile, 'TLS private key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`TLS certificate ${files.certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`TLS private key ${files.keyFile} cannot be read: ${(err as Error).message}`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error(`TLS private key ${files.keyFile} does not belong to the certificate ${files.certFile}`);
  }
  const material: TlsMaterial = { ca: '', cert, key, certFile: files.certFile, keyFile: files.keyFile };
  if (files.caFile !== undefined) {
    material.ca = await readRequired(files.caFile, 'TLS CA certificate');
    material.caFile = files.caFile;
  }
  return material;
}

async function readRequired(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readPair(certFile: string, keyFile: string): Promise<PemPair | null> {
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** write to a temporary name and rename, so a crash never leaves half a PEM behind */
async function writePair(pair: PemPair, certFile: string, keyFile: string): Promise<void> {
  await writeAtomically(keyFile, pair.key, 0o600);
  await writeAtomically(certFile, pair.cert, 0o644);
}

async function writeAtomically(file: string, contents: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, contents, { mode });
  // mode in writeFile is masked by the umask; keys must end up 0600 whatever it is
  await chmod(temporary, mode);
  await rename(temporary, file);
}

function parse(pair: PemPair): { x509: X509Certificate; keyMatches: boolean } | null {
  try {
    const x509 = new X509Certificate(pair.cert);
    return { x509, keyMatches: x509.checkPrivateKey(createPrivateKey(pair.key)) };
  } catch {
    return null;
  }
}

function isUsableCa(pair: PemPair, now: Date): boolean {
  const parsed = parse(pair);
  if (!parsed || !parsed.keyMatches || !parsed.x509.ca) return false;
  return new Date(parsed.x509.validTo).getTime() > now.getTime() + RENEW_BEFORE_MS;
}

function isUsableServerCertificate(pair: PemPair, ca: PemPair, names: readonly string[], now: Date): boolean {
  const parsed = parse(pair);
  if (!parsed || !parsed.keyMatches) return false;
  const { x509 } = parsed;
  const caX509 = new X509Certificate(ca.cert);
  if (!x509.checkIssued(caX509) || !x509.verify(caX509.publicKey)) return false;
  if (new Date(x509.validFrom).getTime() > now.getTime()) return false;
  if (new Date(x509.validTo).getTime() <= now.getTime() + RENEW_BEFORE_MS) return false;
  return names.every((name) =>
    isIP(name) === 0 ? x509.checkHost(name, { subject: 'never' }) !== undefined : x509.checkIP(name) !== undefined,
  );
}

/**
 * Certificates for in-memory brokers, made once per process and set of names: key
 * generation is the slow part of a TLS listener, and test files start many brokers.
 */
const memoryCertificates = new Map<string, Promise<TlsMaterial>>();

export function inMemoryCertificates(hostnames: string[]): Promise<TlsMaterial> {
  // the Amazon-style names differ per broker; the local names are what tests connect to
  const key = hostnames[0] ?? 'localhost';
  let p = memoryCertificates.get(key);
  if (!p) {
    p = ensureCertificates({ hostnames });
    memoryCertificates.set(key, p);
    p.catch(() => memoryCertificates.delete(key));
  }
  return p;
}
