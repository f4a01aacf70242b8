import { nodeFs } from '../../src/store/file/file-store.js';
import { scanSegment } from '../../src/store/file/segment.js';

/**
 * Where the data of a segment file ends (its last intact record's end). A clean close leaves a head on a new
 * file with its zeros after the data (the next start continues it): a test that damages "the last record"
 * counts back from here, not from the file's size.
 */
export async function segmentDataEnd(path: string): Promise<number> {
  return (await scanSegment(nodeFs, path, () => {})).validEnd;
}
