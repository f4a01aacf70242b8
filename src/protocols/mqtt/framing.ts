/**
 * Where each MQTT packet starts and how long it says it is, read off the bytes as they
 * arrive, so an oversized packet is refused at its fixed header — before a byte of its
 * body is buffered. mqtt-packet's parser would otherwise gather a whole declared 256 MiB
 * before looking at it.
 */

export type FrameCheck =
  /** every byte of the chunk belongs to packets within the limit */
  | { ok: true }
  /** the packet starting at `offset` declares `length` bytes, over the limit */
  | { ok: false; offset: number; length: number; reason: 'too-large' }
  /** the remaining-length field at `offset` runs past 4 bytes */
  | { ok: false; offset: number; length: number; reason: 'malformed' };

const OK: FrameCheck = { ok: true };

export class PacketFramer {
  /** bytes of the current packet's body still to come */
  private bodyLeft = 0;
  /** reading a fixed header: 0 = expecting the type byte, then 1..4 length bytes read */
  private headerBytes = 0;
  private length = 0;
  private multiplier = 1;
  private headerStart = 0;

  /** `limit`: the largest remaining length accepted (the packet size, less its fixed header) */
  constructor(public limit: number) {}

  /**
   * Scan one chunk. Stops at the first packet over the limit; nothing after its fixed
   * header has been accepted then.
   */
  scan(chunk: Buffer): FrameCheck {
    let i = 0;
    const n = chunk.length;
    // a fixed header begun in an earlier chunk: nothing of this one belongs before it
    if (this.headerBytes > 0) this.headerStart = 0;
    while (i < n) {
      if (this.bodyLeft > 0) {
        const take = n - i < this.bodyLeft ? n - i : this.bodyLeft;
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      if (this.headerBytes === 0) {
        this.headerStart = i;
        this.headerBytes = 1;
        this.length = 0;
        this.multiplier = 1;
        i++;
        continue;
      }
      const b = chunk[i++]!;
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.headerBytes++;
      if (b & 0x80) {
        if (this.headerBytes > 4) return { ok: false, offset: this.headerStart, length: this.length, reason: 'malformed' };
        continue;
      }
      if (this.length > this.limit) return { ok: false, offset: this.headerStart, length: this.length, reason: 'too-large' };
      this.headerBytes = 0;
      this.bodyLeft = this.length;
    }
    return OK;
  }
}
