import { decodeRange } from './decode.js';

/**
 * Interns ASCII header names and commands per connection. A connection
 * repeats the same handful of names on every frame; handing back the string
 * decoded last time saves a decode and an allocation per header, which is
 * most of what parsing a small frame costs. Bounded: once full, new names are
 * simply decoded (a peer inventing names cannot grow it).
 */
export class NameCache {
  private readonly byHash = new Map<number, string>();

  constructor(private readonly capacity = 512) {}

  /** buf[start, end) as a string; every byte in the range must be < 0x80. */
  decodeAscii(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    if (length > 64) return decodeRange(buf, start, end, true);
    let hash = length;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + buf[i]!) | 0;
    const hit = this.byHash.get(hash);
    if (hit !== undefined) {
      if (hit.length === length && sameBytes(hit, buf, start)) return hit;
      // Collision: keep the entry that got there first.
      return decodeRange(buf, start, end, true);
    }
    const s = decodeRange(buf, start, end, true);
    if (this.byHash.size < this.capacity) this.byHash.set(hash, s);
    return s;
  }
}

function sameBytes(s: string, buf: Buffer, start: number): boolean {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) !== buf[start + k]) return false;
  return true;
}
