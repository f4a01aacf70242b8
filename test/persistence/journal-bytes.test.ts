import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalBytes, segmentFileName } from '../../src/store/file/segment.js';

// what the CLI reads to decide whether a start has a journal worth optimizing for
describe('journalBytes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-journal-bytes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is 0 for a data dir that does not exist yet', () => {
    expect(journalBytes(join(dir, 'missing'))).toBe(0);
  });

  it('sums the segment files only', () => {
    writeFileSync(join(dir, segmentFileName(1)), Buffer.alloc(1000));
    writeFileSync(join(dir, segmentFileName(2)), Buffer.alloc(24, 1));
    writeFileSync(join(dir, 'ca.pem'), Buffer.alloc(5000));
    writeFileSync(join(dir, '12.seg'), Buffer.alloc(7));
    expect(journalBytes(dir)).toBe(1024);
  });

  it('leaves out the zeros after the newest segment\'s data (a head a clean close left to be continued)', () => {
    const head = Buffer.alloc(300_000);
    head.fill(7, 0, 1000);
    writeFileSync(join(dir, segmentFileName(3)), head);
    expect(journalBytes(dir)).toBe(1024 + 1000);
  });
});
