import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../../process-alive.js';

/** lock files this process holds, to tell our own live lock from a reused pid */
const heldHere = new Set<string>();

/**
 * An exclusive hold on a data dir: a `lock` file holding the owner's pid, created
 * with O_EXCL. A lock whose pid no longer runs is stale and taken over.
 */
export class DirLock {
  private constructor(
    readonly path: string,
    private readonly pid: number,
  ) {}

  static async acquire(dir: string, pid = process.pid): Promise<DirLock> {
    const path = join(dir, 'lock');
    // each retry follows the removal of a stale or torn lock (another starter may race us to it)
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fsp.writeFile(path, `${pid}\n`, { flag: 'wx' });
        heldHere.add(path);
        return new DirLock(path, pid);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(path);
      // our own pid in a lock we did not take is a previous run whose pid was reused (containers)
      const reusedPid = holder === process.pid && !heldHere.has(path);
      if (holder !== undefined && !reusedPid && isAlive(holder)) {
        throw new Error(`data dir ${dir} is in use by pid ${holder}`);
      }
      // stale (its process is gone) or unreadable (torn while being written): take it over
      await fsp.rm(path, { force: true });
    }
    throw new Error(`data dir ${dir}: could not take the lock file ${path}`);
  }

  async release(): Promise<void> {
    heldHere.delete(this.path);
    // only remove it if it is still ours
    if ((await readHolder(this.path)) === this.pid) await fsp.rm(this.path, { force: true });
  }
}

async function readHolder(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
