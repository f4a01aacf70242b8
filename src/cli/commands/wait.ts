import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../fail.js';
import { probeHost, probeTcp } from '../probe.js';
import { isAlive, readPid, readState, statePath } from '../run-state.js';

/**
 * `localmq wait`: exit 0 once every listener of the broker in the run dir accepts TCP
 * connections; fail at once when the broker is gone, or with what is missing at the deadline.
 */
export async function runWait(runDir: string, timeoutSec: number): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutSec * 1000;
  let lastProblem = `no broker has started from ${runDir} yet (no ${statePath(runDir)})`;
  for (;;) {
    const state = readState(runDir);
    if (state) {
      if (!isAlive(state.pid)) {
        throw new CliError(`the broker (pid ${state.pid}) is not running any more${state.logFile ? `; see ${state.logFile}` : ''}`);
      }
      const host = probeHost(state.hosts);
      const results = await Promise.all(Object.entries(state.ports).map(async ([key, port]) => ({ key, port, error: await probeTcp(host, port) })));
      const down = results.filter((r) => r.error !== null);
      if (down.length === 0) {
        const list = results.map((r) => `${r.key} ${r.port}`).join(', ');
        process.stdout.write(`ready: ${list} (waited ${Date.now() - started} ms)\n`);
        return;
      }
      lastProblem = down.map((r) => `${r.key} port ${r.port} on ${host} refused (${r.error})`).join('; ');
    } else {
      const pid = readPid(runDir);
      if (pid !== undefined && !isAlive(pid)) lastProblem = `the broker (pid ${pid}) exited before it was ready; see its log in ${runDir}`;
    }
    if (Date.now() >= deadline) throw new CliError(`not ready after ${timeoutSec} s: ${lastProblem}`);
    await sleep(50);
  }
}
