import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from '../config.js';
import { formatEndpoints } from '../endpoint-table.js';
import { CliError } from '../fail.js';
import { LOG_FILE, type RunState } from '../run-state.js';
import { DETACHED_ENV, refuseIfRunning } from './start.js';

/**
 * `start --detach`: run this same command without --detach in a new session, its output
 * in the run dir's log, and return once the child says it is ready (or print the error
 * it died with).
 */
export async function runDetached(settings: Settings, argv: string[], readyTimeoutSec: number): Promise<void> {
  try {
    mkdirSync(settings.runDir, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot use run dir ${settings.runDir} (${(err as NodeJS.ErrnoException).code}): pass --run-dir or --data-dir with a directory you can write`);
  }
  // before the log is opened: truncating it would wipe the running broker's log
  refuseIfRunning(settings.runDir);
  const logFile = join(settings.runDir, LOG_FILE);
  const log = openSync(logFile, 'w');
  const args = argv.filter((a) => a !== '--detach');
  const child = spawn(process.execPath, [...process.execArgv, ...args], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  closeSync(log);
  const outcome = await new Promise<{ state: RunState } | { code: number | null; signal: string | null } | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), readyTimeoutSec * 1000);
    child.once('message', (m: { ready?: boolean; state?: RunState }) => {
      if (m.ready && m.state) {
        clearTimeout(timer);
        resolve({ state: m.state });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  if (outcome === 'timeout') {
    child.kill('SIGTERM');
    throw new CliError(`the broker was not ready within ${readyTimeoutSec} s; see ${logFile}`);
  }
  if (!('state' in outcome)) {
    const reason = lastError(logFile) ?? `it exited with ${outcome.signal ?? `code ${outcome.code}`}; see ${logFile}`;
    throw new CliError(reason, outcome.code ?? 1);
  }
  child.unref();
  if (child.connected) child.disconnect();
  process.stdout.write(formatEndpoints(outcome.state));
  process.stdout.write(`\nRunning in the background. Stop it with: localmq stop${settings.runDir === join(process.cwd(), '.localmq') ? '' : ` --run-dir ${settings.runDir}`}\n`);
}

/** the child's own one-line error, without our prefix */
function lastError(logFile: string): string | undefined {
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('localmq: '));
    return lines.at(-1)?.slice('localmq: '.length);
  } catch {
    return undefined;
  }
}
