import type { Composite } from './composites.js';
import type { Encoder } from './encoder.js';
import { T } from './decoder.js';

/**
 * Hand-written encodings for the delivery path, one transfer per message: the same bytes
 * writeComposite / Encoder.map write for these values (smallest encodings, trailing nulls
 * left out), without building a performative object, Typed wrappers or an AmqpMap per
 * message, and without looking field names up by spec.
 */

const TRANSFER = 0x14;
const HEADER = 0x70;
const MESSAGE_ANNOTATIONS = 0x72;

/**
 * The frame header (type AMQP, doff 2, `channel`) and a transfer performative carrying
 * handle, delivery-id, a 4-byte delivery-tag, message-format and, when true, settled /
 * more; the caller writes the payload after it and patches the size with endFrame.
 */
export function writeTransferFrameHead(
  e: Encoder,
  channel: number,
  handle: number,
  deliveryId: number,
  tag: number,
  messageFormat: number,
  settled: boolean,
  more: boolean,
): number {
  e.ensure(8 + 64);
  const start = e.pos;
  const b = e.buf;
  b[start + 4] = 2;
  b[start + 5] = 0;
  b.writeUInt16BE(channel, start + 6);
  b[start + 8] = 0x00;
  b[start + 9] = T.smallulong;
  b[start + 10] = TRANSFER;
  e.pos = start + 11;
  const fields = more ? 6 : settled ? 5 : 4;
  e.compound(T.list8, T.list32, fields, () => {
    e.uint(handle);
    e.uint(deliveryId);
    e.ensure(6);
    e.buf[e.pos++] = T.vbin8;
    e.buf[e.pos++] = 4;
    e.buf.writeUInt32BE(tag >>> 0, e.pos);
    e.pos += 4;
    e.uint(messageFormat);
    if (fields > 4) e.byte(settled ? T.true : T.null);
    if (more) e.byte(T.true);
  });
  return start;
}

/** the frame started at `start` ends here: its size goes in its first 4 bytes */
export function endFrame(e: Encoder, start: number): void {
  e.u32At(start, e.pos - start);
}

/** the header section: durable, priority, ttl, first-acquirer, delivery-count (each only when set) */
export function writeHeaderSection(e: Encoder, durable: boolean, priority: number | undefined, ttl: number | undefined, firstAcquirer: boolean | undefined, deliveryCount: number | undefined): void {
  const last = deliveryCount !== undefined ? 5 : firstAcquirer !== undefined ? 4 : ttl !== undefined ? 3 : priority !== undefined ? 2 : durable ? 1 : 0;
  e.ensure(3);
  e.buf[e.pos++] = 0x00;
  e.buf[e.pos++] = T.smallulong;
  e.buf[e.pos++] = HEADER;
  if (last === 0) return e.byte(T.list0);
  e.compound(T.list8, T.list32, last, () => {
    e.byte(durable ? T.true : T.null);
    if (last < 2) return;
    if (priority === undefined) e.byte(T.null);
    else {
      e.byte(T.ubyte);
      e.byte(priority & 0xff);
    }
    if (last < 3) return;
    if (ttl === undefined) e.byte(T.null);
    else e.uint(ttl);
    if (last < 4) return;
    e.byte(firstAcquirer === undefined ? T.null : firstAcquirer ? T.true : T.false);
    if (last < 5) return;
    e.uint(deliveryCount!);
  });
}

/** message annotations holding only x-exchange and x-routing-key (RabbitMQ 4's delivery annotations) */
export function writeExchangeAnnotations(e: Encoder, exchange: string, routingKey: string): void {
  e.ensure(3);
  e.buf[e.pos++] = 0x00;
  e.buf[e.pos++] = T.smallulong;
  e.buf[e.pos++] = MESSAGE_ANNOTATIONS;
  e.compound(T.map8, T.map32, 4, () => {
    e.symbol('x-exchange');
    e.string(exchange);
    e.symbol('x-routing-key');
    e.string(routingKey);
  });
}

/**
 * A transfer performative read straight from its bytes, in the encodings clients write for
 * it (uint0 / smalluint / uint, vbin8 / vbin32, booleans, ubyte, null); undefined for
 * anything else (a state, an unusual encoding, a malformed list), which the generic decoder
 * then reads and judges. The result is what toComposite gives: the fields present, by name.
 */
export function readTransfer(body: Buffer): { performative: Composite; payload: Buffer } | undefined {
  if (body.length < 4 || body[0] !== 0x00 || body[1] !== T.smallulong || body[2] !== TRANSFER) return undefined;
  let pos = 4;
  let count: number;
  let end: number;
  switch (body[3]) {
    case T.list8:
      if (body.length < 6) return undefined;
      end = 5 + body[4]!;
      count = body[5]!;
      pos = 6;
      break;
    case T.list32:
      if (body.length < 12) return undefined;
      end = 8 + body.readUInt32BE(4);
      count = body.readUInt32BE(8);
      pos = 12;
      break;
    default:
      return undefined;
  }
  if (end > body.length || count > TRANSFER_FIELDS.length) return undefined;
  const out: Composite = { $: 'transfer' };
  for (let i = 0; i < count; i++) {
    if (pos >= end) return undefined;
    const code = body[pos++]!;
    if (code === T.null) continue;
    const kind = TRANSFER_FIELDS[i]!;
    let v: unknown;
    if (kind === 'uint') {
      if (code === T.uint0) v = 0;
      else if (code === T.smalluint) v = body[pos++];
      else if (code === T.uint) {
        if (pos + 4 > end) return undefined;
        v = body.readUInt32BE(pos);
        pos += 4;
      } else return undefined;
    } else if (kind === 'boolean') {
      if (code === T.true) v = true;
      else if (code === T.false) v = false;
      else return undefined;
    } else if (kind === 'binary') {
      let n: number;
      if (code === T.vbin8) n = body[pos++]!;
      else if (code === T.vbin32) {
        if (pos + 4 > end) return undefined;
        n = body.readUInt32BE(pos);
        pos += 4;
      } else return undefined;
      if (pos + n > end) return undefined;
      v = body.subarray(pos, pos + n);
      pos += n;
    } else if (kind === 'ubyte') {
      if (code !== T.ubyte) return undefined;
      v = body[pos++];
    } else return undefined; // a state: the generic decoder
    out[TRANSFER_NAMES[i]!] = v;
  }
  if (pos !== end || out['handle'] === undefined) return undefined;
  return { performative: out, payload: body.subarray(end) };
}

const TRANSFER_NAMES = ['handle', 'deliveryId', 'deliveryTag', 'messageFormat', 'settled', 'more', 'rcvSettleMode', 'state', 'resume', 'aborted', 'batchable'];
const TRANSFER_FIELDS = ['uint', 'uint', 'binary', 'uint', 'boolean', 'boolean', 'ubyte', 'any', 'boolean', 'boolean', 'boolean'] as const;
