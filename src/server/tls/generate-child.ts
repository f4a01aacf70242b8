/**
 * Makes one certificate in a short-lived process: reads a GenerateRequest (JSON) on stdin,
 * writes the PemPair (JSON) on stdout. A long-running broker that only needs its certificate
 * made once (first start on a data dir) thus never loads node-forge nor keeps the garbage of
 * an RSA key generation (~6 MiB of RSS; issue 18: idle RSS). See certificates.ts.
 */
import { generateCa, generateServerCertificate, type PemPair } from './generate.js';
import type { GenerateRequest } from './generate-request.js';

async function main(): Promise<void> {
  let input = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) input += chunk as string;
  const request = JSON.parse(input) as GenerateRequest;
  const now = new Date(request.now);
  const pair: PemPair =
    request.kind === 'ca' ? await generateCa(now) : await generateServerCertificate({ ca: request.ca, hostnames: request.hostnames, now, ...(request.key ? { key: request.key } : {}) });
  process.stdout.write(JSON.stringify(pair));
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
