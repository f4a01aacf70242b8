import * as zlib from 'node:zlib';

/** CRC-32 (IEEE) table, for Node builds older than 20.15 that lack zlib.crc32 */
let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export const crc32: (data: Uint8Array) => number = typeof native === 'function' ? (d) => native(d) : tableCrc32;
export { tableCrc32 };

/**
 * The checksum seed of journal segment `no` (format 2): XORed into its records' CRC-32s, so that
 * a record is valid only in the segment it was written for. A segment file is recycled
 * (spare-segment.ts): what its earlier use left after the new data fails the checksum even where
 * a page boundary lines up with an old record's start. An odd multiplier is a bijection of the
 * u32s, so every segment number below 2^32 has a seed of its own, and none but 0 has seed 0
 * (format 1's plain CRCs).
 */
export function segmentSeed(no: number): number {
  return Math.imul(no, 0x9e3779b1) >>> 0;
}
