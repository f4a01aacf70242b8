import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../fail.js';
import { clearRunFiles, isAlive, readPid, readState } from '../run-state.js';

/**
 * `localmq stop`: SIGTERM the broker (it closes every client with its protocol's goodbye
 * and flushes the store) and wait until the process is gone. Nothing running is not an error,
 * so CI cleanup steps can always call it.
 */
export async function runStop(runDir: string, timeoutSec: number): Promise<void> {
  const pid = readState(runDir)?.pid ?? readPid(runDir);
  if (pid === undefined || !isAlive(pid)) {
    if (pid !== undefined) clearRunFiles(runDir, pid);
    process.stdout.write(`no broker is running from ${runDir}\n`);
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    throw new CliError(`cannot signal the broker (pid ${pid}): ${(err as NodeJS.ErrnoException).code}`);
  }
  const deadline = Date.now() + timeoutSec * 1000;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) throw new CliError(`the broker (pid ${pid}) did not stop within ${timeoutSec} s; 'kill -9 ${pid}' ends it without a clean shutdown`);
    await sleep(25);
  }
  clearRunFiles(runDir, pid);
  process.stdout.write(`stopped (pid ${pid})\n`);
}
