import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid is running. Signal 0 probes without touching it, but
 * it also succeeds on a zombie: a broker started with --detach is reparented to the
 * machine's init, and where that init reaps late (containers, CI sandboxes) the exited
 * broker stays a zombie for seconds. `localmq stop` waited that out (2 s on an idle
 * broker); on Linux /proc says the process is a zombie, which counts as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false; // no /proc (macOS, Windows): signal 0 is all there is
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}
