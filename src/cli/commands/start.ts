import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerOptions, type Settings } from '../config.js';
import { startBroker, type LocalMQ } from '../../server/local-mq.js';
import { PRODUCT } from '../../server/product.js';
import { formatEndpoints } from '../endpoint-table.js';
import { CliError, EXIT_BAD_SETTINGS, printError } from '../fail.js';
import { clearRunFiles, isAlive, LOG_FILE, readState, writePid, writeState, type RunState } from '../run-state.js';
import { kebab } from '../config.js';
import { StrictModeError, StrictNoUsersError } from '../../server/auth/strict.js';
import { isTlsListener } from '../../server/endpoints.js';
import type { ListenerKey } from '../../server/profiles.js';
import { CA_FILE } from '../../server/tls/certificates.js';
import { journalBytes } from '../../store/file/segment.js';
import { optimizeFromNow } from '../deferred-optimizer.js';

/** set in the detached child by `start --detach`: tell the parent over IPC when ready */
export const DETACHED_ENV = 'LOCALMQ_DETACHED_CHILD';

/**
 * Run the broker in this process until SIGINT/SIGTERM: start it, load definitions, write
 * the run files, print the endpoints. On a signal: close every client with its protocol's
 * goodbye, flush the store, remove the run files, exit 0.
 */
export async function runForeground(settings: Settings): Promise<void> {
  const detached = process.env[DETACHED_ENV] === '1';
  // an in-memory broker in the foreground has nothing on disk to guard: when another broker
  // holds the run dir it runs anyway, without run files (Ctrl-C or SIGTERM stops it)
  const ownsRunDir = prepareRunDir(settings, settings.dataDir === undefined && !detached);
  // V8's optimizing compiler is off while the CLI loads (deferred-optimizer.ts): it comes
  // back before a start with real work (a journal to replay, definitions to import), else
  // once the broker is ready, so an idle broker never runs it
  if (startWork(settings) > HEAVY_START_BYTES) optimizeFromNow();
  const broker = await start(settings);
  if (settings.definitions !== undefined) {
    const { DefinitionsImportError, importDefinitionsFile } = await import('../../server/definitions/apply.js');
    try {
      const n = await importDefinitionsFile(broker, settings.definitions);
      broker.logger.info('definitions imported', { file: settings.definitions, ...n });
    } catch (err) {
      await broker.stop();
      if (err instanceof DefinitionsImportError) throw new CliError(`${err.message}; fix the file or leave out --definitions`, EXIT_BAD_SETTINGS);
      throw err;
    }
  }
  const state = runState(broker, settings, detached);
  state.caFile ??= await writeMemoryCa(broker, ownsRunDir ? settings.runDir : join(tmpdir(), `localmq-${process.pid}`));
  if (ownsRunDir) {
    writeState(settings.runDir, state);
    writePid(settings.runDir, process.pid);
  } else {
    broker.logger.info('run dir in use by another broker: this in-memory broker writes no run files there; stop it with Ctrl-C or SIGTERM', { runDir: settings.runDir });
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      // a second Ctrl-C: the user has given up waiting
      process.exit(130);
    }
    stopping = true;
    broker.logger.info('shutting down', { signal });
    broker
      .stop()
      .then(() => {
        clearRunFiles(settings.runDir, process.pid);
        process.exit(0);
      })
      .catch((err: unknown) => {
        clearRunFiles(settings.runDir, process.pid);
        printError(`stopping failed: ${(err as Error).message}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // `npx localmq` and `npm start` run us under npm and a shell: npm passes a SIGTERM to the
  // shell, which dies without passing it on, and we would be left holding the ports.
  // Under npm, losing our parent means whoever ran npm wants us gone.
  if (!detached && process.env['npm_command'] !== undefined) onParentExit(() => shutdown('parent exited'));

  process.stdout.write(formatEndpoints(state));
  optimizeFromNow();
  if (detached && process.send) {
    process.send({ ready: true, state }, () => process.disconnect());
  }
}

/** below this much journal and definitions, a start is quick without the optimizing compiler */
const HEAVY_START_BYTES = 256 * 1024;

/** bytes a start has to read and apply: the journal to replay, the definitions file */
function startWork(settings: Settings): number {
  let bytes = settings.dataDir !== undefined ? journalBytes(settings.dataDir) : 0;
  if (settings.definitions !== undefined) {
    try {
      bytes += statSync(settings.definitions).size;
    } catch {
      // the import reports a missing file
    }
  }
  return bytes;
}

/** call `fn` once this process is orphaned (its parent pid changes) */
function onParentExit(fn: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    fn();
  }, 200);
  timer.unref();
}

/**
 * The run dir must exist and be writable, and hold no live broker; returns whether this
 * broker may write its run files there. With `mayShare`, a live broker there is no error.
 */
function prepareRunDir(settings: Settings, mayShare: boolean): boolean {
  for (const dir of new Set([settings.runDir, settings.dataDir].filter((d): d is string => d !== undefined))) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.R_OK | constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const what = dir === settings.dataDir ? 'data dir' : 'run dir';
      throw new CliError(`cannot use ${what} ${dir} (${code}): pass --data-dir with a directory you can write, or --in-memory`);
    }
  }
  if (mayShare && runningBroker(settings.runDir) !== undefined) return false;
  refuseIfRunning(settings.runDir);
  return true;
}

/**
 * An in-memory broker's CA exists only in the process: write it to `dir`/ca.pem so clients
 * can be pointed at it (the endpoint table prints the path and how to trust it).
 */
async function writeMemoryCa(broker: LocalMQ, dir: string): Promise<string | null> {
  if (!Object.keys(broker.ports).some((k) => isTlsListener(k as ListenerKey))) return null;
  const { ca } = await broker.certificates();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, CA_FILE);
  writeFileSync(file, ca);
  return file;
}

/** a live broker owns this run dir (its pid, state and log files) */
export function refuseIfRunning(runDir: string): void {
  const running = runningBroker(runDir);
  if (running) {
    throw new CliError(`a broker is already running from ${runDir} (pid ${running.pid}): stop it with 'localmq stop' or use another --data-dir / --run-dir`);
  }
}

function runningBroker(runDir: string): RunState | undefined {
  const running = readState(runDir);
  return running && running.pid !== process.pid && isAlive(running.pid) ? running : undefined;
}

async function start(settings: Settings): Promise<LocalMQ> {
  try {
    return await startBroker(brokerOptions(settings));
  } catch (err) {
    throw startError(err as NodeJS.ErrnoException, settings);
  }
}

/** one line saying what went wrong and what to do */
function startError(err: NodeJS.ErrnoException & { port?: number; address?: string }, settings: Settings): Error {
  if (err instanceof StrictModeError || err instanceof StrictNoUsersError) return new CliError(err.message, EXIT_BAD_SETTINGS);
  if (err.code === 'EADDRINUSE' || (err.code === 'EACCES' && (err.syscall === 'listen' || err.syscall === 'bind'))) {
    const key = Object.entries(settings.ports).find(([, p]) => p === err.port)?.[0];
    const flag = key ? `--${kebab(key)}-port` : 'the --*-port options';
    const where = err.address ? ` on ${err.address}` : '';
    if (err.code === 'EACCES') return new CliError(`not allowed to listen on port ${err.port}${where}: pick a port above 1023 with ${flag}`);
    return new CliError(`port ${err.port}${where} is already in use: stop whatever holds it, or pass ${flag} <port> (0 picks a free one)`);
  }
  if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS' || err.code === 'ENOTDIR') {
    return new CliError(`cannot use data dir ${settings.dataDir} (${err.code}: ${err.path ?? err.message}): pass --data-dir with a directory you can write, or --in-memory`);
  }
  if (/data dir .* is in use by pid/.test(err.message)) {
    return new CliError(`${err.message}: stop that broker ('localmq stop') or use another --data-dir`);
  }
  return err;
}

function runState(broker: LocalMQ, settings: Settings, detached: boolean): RunState {
  return {
    pid: process.pid,
    version: PRODUCT.version,
    startedAt: new Date().toISOString(),
    engine: settings.engine,
    hostname: settings.hostname,
    hosts: settings.hosts,
    ports: { ...broker.ports },
    urls: Object.fromEntries(Object.entries(broker.urls).filter((e): e is [string, string] => typeof e[1] === 'string')),
    dataDir: settings.dataDir ?? null,
    logFile: detached ? join(settings.runDir, LOG_FILE) : null,
    credentials: credentials(broker, settings),
    caFile: broker.caFile ?? null,
    amazonUrls: Object.fromEntries(broker.endpoints.filter((e) => e.amazonUrl).map((e) => [e.key, e.amazonUrl!])),
    controlToken: broker.controlToken,
  };
}

function credentials(broker: LocalMQ, settings: Settings): string[] {
  const out: string[] = [];
  for (const u of broker.users.listUsers()) {
    const given = settings.users?.find((x) => x.name === u.name);
    const loopback = broker.users.loopbackUsers.has(u.name) ? ', loopback only' : '';
    const tags = u.tags.length ? u.tags.join(',') : 'no tags';
    if (given) out.push(`${u.name} (password as given; ${tags}${loopback})`);
    else if (broker.users.authenticate(u.name, u.name, '127.0.0.1').ok) out.push(`${u.name} / ${u.name} (${tags}${loopback})`);
    else out.push(`${u.name} (${tags}${loopback})`);
  }
  return out.length ? out : ['no users: import definitions or pass --user name:password'];
}
