import { nodeFs, type StoreFs } from '../../src/store/file/fs-layer.js';

/**
 * The real file operations, with two switches: writes that fail (a full disk) and segment
 * syncs (fdatasync) that wait until released (to see what the broker does before its data is durable).
 */
export class FaultyFs implements StoreFs {
  failWrites: NodeJS.ErrnoException | null = null;
  holdFsyncs = false;
  private held: (() => void)[] = [];
  private heldWaiters: (() => void)[] = [];

  open = nodeFs.open;
  close = nodeFs.close;
  read = nodeFs.read;
  ftruncate = nodeFs.ftruncate;
  fstatSize = nodeFs.fstatSize;
  fstatAllocated = nodeFs.fstatAllocated;
  unlink = nodeFs.unlink;
  rename = nodeFs.rename;
  readdir = nodeFs.readdir;
  mkdir = nodeFs.mkdir;

  write: StoreFs['write'] = (fd, buf, offset, length, position) =>
    this.failWrites ? Promise.reject(this.failWrites) : nodeFs.write(fd, buf, offset, length, position);

  fsync = nodeFs.fsync;

  // a journal segment's sync (a directory's fsync is not held)
  fdatasync: StoreFs['fdatasync'] = async (fd) => {
    // decided when the sync starts: one already running when holding begins is not held
    const hold = this.holdFsyncs;
    await nodeFs.fdatasync(fd);
    // released while the real sync ran: nothing would ever let this one go (it parked the flush for good)
    if (!hold || !this.holdFsyncs) return;
    await new Promise<void>((resolve) => {
      this.held.push(resolve);
      for (const w of this.heldWaiters.splice(0)) w();
    });
  };

  /** resolves once an fsync is being held */
  fsyncHeld(): Promise<void> {
    return this.held.length > 0 ? Promise.resolve() : new Promise((r) => this.heldWaiters.push(r));
  }

  /** let the fsyncs held so far finish; later ones are held again */
  releaseHeld(): void {
    for (const r of this.held.splice(0)) r();
  }

  releaseFsyncs(): void {
    this.holdFsyncs = false;
    for (const r of this.held.splice(0)) r();
  }
}
