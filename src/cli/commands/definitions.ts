import { readFile, writeFile } from 'node:fs/promises';
import { CliError, EXIT_BAD_SETTINGS } from '../fail.js';
import { callApi, localApi, remoteApi, runningBroker, type ApiTarget } from './control.js';

export interface ApiOptions {
  url?: string;
  user?: string;
  password?: string;
}

function target(runDir: string, o: ApiOptions): ApiTarget {
  if (o.url) return remoteApi(o.url, o.user ?? 'guest', o.password ?? 'guest');
  return localApi(runningBroker(runDir));
}

/** `localmq definitions export FILE` (`-` for stdout): GET /api/definitions */
export async function runExport(runDir: string, file: string, o: ApiOptions): Promise<void> {
  const defs = await callApi(target(runDir, o), 'GET', '/api/definitions');
  const text = JSON.stringify(defs, null, 2) + '\n';
  if (file === '-') {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(file, text);
  } catch (err) {
    throw new CliError(`cannot write ${file} (${(err as NodeJS.ErrnoException).code}): pick a writable path`);
  }
  const d = defs as Record<string, unknown[]>;
  process.stderr.write(`exported ${count(d, 'users')} users, ${count(d, 'vhosts')} vhosts, ${count(d, 'queues')} queues, ${count(d, 'exchanges')} exchanges, ${count(d, 'bindings')} bindings, ${count(d, 'policies')} policies to ${file}\n`);
}

/** `localmq definitions import FILE` (`-` for stdin): POST /api/definitions */
export async function runImport(runDir: string, file: string, o: ApiOptions): Promise<void> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code}): check the path`, EXIT_BAD_SETTINGS);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, EXIT_BAD_SETTINGS);
  }
  await callApi(target(runDir, o), 'POST', '/api/definitions', json);
  const d = json as Record<string, unknown[]>;
  process.stderr.write(`imported ${count(d, 'users')} users, ${count(d, 'vhosts')} vhosts, ${count(d, 'queues')} queues, ${count(d, 'exchanges')} exchanges, ${count(d, 'bindings')} bindings, ${count(d, 'policies')} policies from ${file}\n`);
}

function count(d: Record<string, unknown[]>, key: string): number {
  return Array.isArray(d[key]) ? d[key].length : 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runDefinitionsCommand(verb: 'export' | 'import', runDir: string, file: string, opts: Record<string, unknown>): Promise<void> {
  const o: ApiOptions = {};
  if (typeof opts['url'] === 'string') o.url = opts['url'];
  if (typeof opts['user'] === 'string') o.user = opts['user'];
  if (typeof opts['password'] === 'string') o.password = opts['password'];
  if (verb === 'export') await runExport(runDir, file, o);
  else await runImport(runDir, file, o);
}
