import * as fs from 'node:fs';

/**
 * The file operations the journal uses, all asynchronous. Injectable so tests can
 * count fsyncs and simulate a full disk; production uses `nodeFs`.
 */
export interface StoreFs {
  open(path: string, flags: string): Promise<number>;
  close(fd: number): Promise<void>;
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /**
   * A synchronous write of a small batch into the page cache, where the layer is the real
   * file system behind a wrapper (measuredFs): see GroupCommitOptions.writeInline. nodeFs
   * itself has none, so a test's `{ ...nodeFs, write }` still sees every write.
   */
  writeInline?(fd: number, buf: Buffer, offset: number, length: number, position: number): number;
  /** everything about the file made durable, its timestamps too: for directories (a new entry) */
  fsync(fd: number): Promise<void>;
  /**
   * The file's data made durable, with what reading it back needs (its size, its blocks) but not
   * its timestamps: what a journal segment's writes need. Into blocks already written and synced
   * (GroupCommitOptions.headZeroFill, preopenAt) ext4 then has no journal commit to make, only the
   * data and the device's cache flush; fsync would commit the new mtime every time.
   */
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  fstatSize(fd: number): Promise<number>;
  /**
   * Bytes of the file from its start that have blocks on the disk: the smaller of its size and
   * its allocated blocks (a journal segment is written from its start, so what it has is a prefix).
   */
  fstatAllocated(fd: number): Promise<number>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string): Promise<void>;
}

function done<T>(resolve: (v: T) => void, reject: (e: Error) => void) {
  return (err: NodeJS.ErrnoException | null, v: T) => (err ? reject(err) : resolve(v));
}

export const nodeFs: StoreFs = {
  open: (path, flags) => new Promise((res, rej) => fs.open(path, flags, 0o644, done(res, rej))),
  close: (fd) => new Promise((res, rej) => fs.close(fd, (err) => (err ? rej(err) : res()))),
  read: (fd, buf, offset, length, position) =>
    new Promise((res, rej) => fs.read(fd, buf, offset, length, position, done(res, rej))),
  write: (fd, buf, offset, length, position) =>
    new Promise((res, rej) => fs.write(fd, buf, offset, length, position, done(res, rej))),
  fsync: (fd) => new Promise((res, rej) => fs.fsync(fd, (err) => (err ? rej(err) : res()))),
  fdatasync: (fd) => new Promise((res, rej) => fs.fdatasync(fd, (err) => (err ? rej(err) : res()))),
  ftruncate: (fd, length) => new Promise((res, rej) => fs.ftruncate(fd, length, (err) => (err ? rej(err) : res()))),
  fstatSize: (fd) => new Promise((res, rej) => fs.fstat(fd, (err, st) => (err ? rej(err) : res(st.size)))),
  fstatAllocated: (fd) =>
    new Promise((res, rej) => fs.fstat(fd, (err, st) => (err ? rej(err) : res(Math.min(st.size, st.blocks * 512))))),
  unlink: (path) => new Promise((res, rej) => fs.unlink(path, (err) => (err ? rej(err) : res()))),
  rename: (from, to) => new Promise((res, rej) => fs.rename(from, to, (err) => (err ? rej(err) : res()))),
  readdir: (path) => new Promise((res, rej) => fs.readdir(path, done(res, rej))),
  mkdir: (path) => new Promise((res, rej) => fs.mkdir(path, { recursive: true }, (err) => (err ? rej(err) : res()))),
};

/**
 * Makes the directory's entries durable (a file created, renamed or removed in it). Windows
 * cannot open a directory to fsync it; NTFS makes an entry durable with the file.
 */
export async function syncDirectory(fs: StoreFs, dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fd = await fs.open(dir, 'r');
  try {
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}
