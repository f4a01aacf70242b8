import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const main = join(root, 'src/cli/main.ts');

/** the argv that runs the CLI from source, from any directory */
export const CLI = [process.execPath, '--import', tsx, main];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const cleanEnv = (env: NodeJS.ProcessEnv = {}) => {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LOCALMQ_')));
  return { ...base, ...env };
};

/** run a CLI command to completion */
export function runCli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(CLI[0]!, [...CLI.slice(1), ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export function runCliSync(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): CliResult {
  const r = spawnSync(CLI[0]!, [...CLI.slice(1), ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Foreground {
  child: ChildProcess;
  /** endpoint name -> URL, from the printed table */
  endpoints: Map<string, string>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** start `localmq start ...` in the foreground and resolve once it printed its endpoint table */
export function startForeground(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Foreground> {
  const child = spawn(CLI[0]!, [...CLI.slice(1), 'start', ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (/^ {2}Data dir/m.test(stdout)) {
        resolve({ child, endpoints: parseEndpoints(stdout), stdout: () => stdout, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => reject(new Error(`localmq exited with ${code} before it was ready: ${stderr}`)));
  });
}

/** the `    Name   scheme://host:port` rows of the endpoint table */
export function parseEndpoints(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^ {4}(.+?) {2,}([a-z+]+:\/\/\S+)$/.exec(line);
    // the local rows come first; the Amazon-form rows below repeat the names
    if (m && !out.has(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/**
 * Scratch dirs and foreground brokers for a CLI test file: each test's brokers are killed
 * after it, the dirs removed after the file.
 */
export function useCliScratch(prefix: string): { tempDir: () => string; children: Foreground[] } {
  const dirs: string[] = [];
  const children: Foreground[] = [];
  afterEach(() => {
    for (const f of children.splice(0)) if (f.child.exitCode === null) f.child.kill('SIGKILL');
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  return { tempDir, children };
}
