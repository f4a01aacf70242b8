import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PemPair, ServerCertificateRequest } from './generate.js';
import type { GenerateRequest } from './generate-request.js';

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

/**
 * The command that runs generate-child.js in a process of its own, or undefined where that
 * file cannot run by itself (LocalMQ run from its TypeScript sources, or bundled without it):
 * the certificate is then made in this process.
 */
export function certificateChildCommand(): string[] | undefined {
  const own = import.meta.url;
  if (!own.startsWith('file:') || !own.endsWith('.js')) return undefined;
  const script = fileURLToPath(new URL('./generate-child.js', own));
  return existsSync(script) ? [process.execPath, script] : undefined;
}

/** Make a certificate in a child process (`command`: certificateChildCommand()'s form). */
export async function generateInChild(request: GenerateRequest, command: readonly string[]): Promise<PemPair> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`certificate generation failed (exit ${code}): ${err.trim()}`));
      try {
        const pair = JSON.parse(out) as PemPair;
        if (typeof pair.cert !== 'string' || typeof pair.key !== 'string') throw new Error('no PEM pair');
        resolve({ cert: pair.cert, key: pair.key });
      } catch (e) {
        reject(new Error(`certificate generation failed: ${(e as Error).message}`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}

/**
 * A certificate for a data dir is made once, at a broker's first start: in a child process
 * when one can run (the built package), so the broker that then runs for hours never loads
 * node-forge nor keeps a key generation's garbage (issue 18: idle RSS of `localmq start`).
 */
function make(request: GenerateRequest, command: readonly string[] | null | undefined): Promise<PemPair> {
  if (command === undefined) command = certificateChildCommand();
  if (command) return generateInChild(request, command);
  const now = new Date(request.now);
  return request.kind === 'ca' ? generateCa(now) : generateServerCertificate({ ca: request.ca, hostnames: request.hostnames, now });
}

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
  /**
   * how a certificate for `dir` is made: a command running generate-child (default: the
   * built package's, see certificateChildCommand), or null to make it in this process
   */
  childCommand?: readonly string[] | null;
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
    ca = await make({ kind: 'ca', now: now.getTime() }, options.childCommand);
    await writePair(ca, files.ca, files.caKey);
    caChanged = true;
  }

  let server = caChanged ? null : await readPair(files.cert, files.key);
  if (!server || !isUsableServerCertificate(server, ca, names, now)) {
    server = await make({ kind: 'server', now: now.getTime(), ca, hostnames: names }, options.childCommand);
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
