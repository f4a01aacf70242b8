import { statfs, statfsSync, type StatsFs } from 'node:fs';

/** the filesystem holding a path as df shows it, bytes */
export interface DiskSpace {
  /** what a user may still write ("Available": blocks kept for root left out) */
  free: number;
  total: number;
}

function spaceOf(s: StatsFs): DiskSpace {
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** reads it without blocking (the disk monitor, RabbitMQ's disk_free_limit) */
export function readDiskSpace(path: string, cb: (err: Error | null, space: DiskSpace | undefined) => void): void {
  statfs(path, (err, s) => (err ? cb(err, undefined) : cb(null, spaceOf(s))));
}

/** reads it now (a node's figures in the management API and metrics); undefined where it cannot be read */
export function readDiskSpaceSync(path: string): DiskSpace | undefined {
  try {
    return spaceOf(statfsSync(path));
  } catch {
    return undefined;
  }
}
