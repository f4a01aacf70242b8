/**
 * The built CLI (`dist/cli/main.js start`) of the current directory as a child process, for benches
 * that measure the broker's own process (its RSS) apart from their clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** starts `node dist/cli/main.js start <args>` and resolves once it says it is running */
export async function startCliBroker(args: string[]): Promise<ChildProcess> {
  const broker = spawn('node', ['dist/cli/main.js', 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('is running')) resolve();
    };
    broker.stdout!.on('data', onData);
    broker.stderr!.on('data', onData);
  });
  return broker;
}

/** a process's resident set (VmRSS), MiB */
export const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
