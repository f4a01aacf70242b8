import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export { isAlive } from '../process-alive.js';

export const STATE_FILE = 'localmq.state.json';
export const PID_FILE = 'localmq.pid';
export const LOG_FILE = 'localmq.log';

/** What a running broker tells the other commands, written to its run dir once it is ready. */
export interface RunState {
  pid: number;
  version: string;
  startedAt: string;
  engine: string;
  hostname: string;
  hosts: string[];
  /** listener key -> port */
  ports: Record<string, number>;
  /** listener key -> URL, as the broker reports them */
  urls: Record<string, string>;
  dataDir: string | null;
  logFile: string | null;
  /** users and how to log in, for the endpoint table */
  credentials: string[];
  caFile: string | null;
  /** listener key -> the same endpoint at the broker's Amazon-style host name */
  amazonUrls?: Record<string, string>;
  /** presented as Bearer to the management endpoint by `definitions` and `status` */
  controlToken: string;
}

export function statePath(runDir: string): string {
  return join(runDir, STATE_FILE);
}

export function readState(runDir: string): RunState | undefined {
  let text: string;
  try {
    text = readFileSync(statePath(runDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as RunState;
    return typeof s.pid === 'number' ? s : undefined;
  } catch {
    // half-written by a broker that died mid-write: as good as none
    return undefined;
  }
}

export function readPid(runDir: string): number | undefined {
  try {
    const n = Number(readFileSync(join(runDir, PID_FILE), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** written whole then renamed, so a reader never sees half of it; private: it holds the control token */
export function writeState(runDir: string, state: RunState): void {
  mkdirSync(runDir, { recursive: true });
  const path = statePath(runDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function writePid(runDir: string, pid: number): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, PID_FILE), `${pid}\n`);
}

/** remove the state and pid files, if they are this pid's */
export function clearRunFiles(runDir: string, pid: number): void {
  if (readState(runDir)?.pid === pid || readState(runDir) === undefined) rmSync(statePath(runDir), { force: true });
  if (readPid(runDir) === pid) rmSync(join(runDir, PID_FILE), { force: true });
}
