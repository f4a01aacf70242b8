import { describe, expect, it } from 'vitest';
import { ByteReader, type ShortReadError } from '../../src/protocols/common/byte-reader.js';
import { Reader as AmqpReader } from '../../src/protocols/amqp/codec/wire.js';
import { AmqpCodecError } from '../../src/protocols/amqp/codec/errors.js';
import { FRAME_ERROR } from '../../src/protocols/amqp/codec/constants.js';
import { Amqp10DecodeError, Condition, Decoder } from '../../src/protocols/amqp10/codec/index.js';
import { OpenWireDecodeError, Reader as OpenWireReader } from '../../src/protocols/openwire/codec/data.js';

class ShortRead extends Error {
  constructor(
    readonly at: number,
    readonly needed: number,
    readonly what: string,
  ) {
    super(`short read of ${needed} at ${at} (${what})`);
  }
}
const shortRead: ShortReadError = (r, needed, what) => new ShortRead(r.pos, needed, what);
const reader = (bytes: number[], start = 0, end = bytes.length) => new ByteReader(Buffer.from(bytes), start, end, shortRead);

describe('the shared bounds-checked byte reader', () => {
  it('reads big-endian integers, floats and 64-bit values', () => {
    const b = Buffer.alloc(64);
    let p = 0;
    p = b.writeUInt8(0xfe, p);
    p = b.writeInt8(-2, p);
    p = b.writeUInt16BE(0xfffe, p);
    p = b.writeInt16BE(-3, p);
    p = b.writeUInt32BE(0xfffffffd, p);
    p = b.writeInt32BE(-4, p);
    p = b.writeBigUInt64BE(2n ** 53n - 1n, p);
    p = b.writeBigInt64BE(-(2n ** 40n), p);
    p = b.writeBigUInt64BE(2n ** 64n - 1n, p);
    p = b.writeBigInt64BE(-(2n ** 63n), p);
    p = b.writeFloatBE(1.5, p);
    p = b.writeDoubleBE(-0.25, p);
    const r = new ByteReader(b, 0, p, shortRead);
    expect([r.u8(), r.i8(), r.u16(), r.i16(), r.u32(), r.i32()]).toEqual([0xfe, -2, 0xfffe, -3, 0xfffffffd, -4]);
    expect(r.u64()).toBe(2 ** 53 - 1);
    expect(r.i64()).toBe(-(2 ** 40));
    expect(r.u64Exact()).toBe(2n ** 64n - 1n);
    expect(r.i64Exact()).toBe(-(2n ** 63n));
    expect([r.f32(), r.f64()]).toEqual([1.5, -0.25]);
    expect(r.remaining).toBe(0);
  });

  it('64-bit reads are numbers while exact, bigints beyond', () => {
    const b = Buffer.alloc(32);
    b.writeBigUInt64BE(2n ** 53n - 1n, 0);
    b.writeBigUInt64BE(2n ** 53n, 8);
    b.writeBigInt64BE(-(2n ** 53n) + 1n, 16);
    b.writeBigInt64BE(-(2n ** 53n), 24);
    const r = new ByteReader(b, 0, 32, shortRead);
    expect(r.u64Exact()).toBe(2 ** 53 - 1);
    expect(r.u64Exact()).toBe(2n ** 53n);
    expect(r.i64Exact()).toBe(-(2 ** 53) + 1);
    expect(r.i64Exact()).toBe(-(2n ** 53n));
  });

  it('strings and bytes are views within bounds', () => {
    const r = reader([0x68, 0xc3, 0xa9, 1, 2, 3, 0x41, 0x42]);
    expect(r.utf8(3)).toBe('hé');
    const v = r.bytes(3);
    expect([...v]).toEqual([1, 2, 3]);
    expect(v.buffer).toBe(r.buf.buffer);
    expect(r.latin1(2)).toBe('AB');
    expect(r.utf8(0)).toBe('');
  });

  it('never reads past its end, even when the buffer goes on; a failed read does not move', () => {
    const r = reader([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 4);
    expect(() => r.u32()).toThrow(ShortRead);
    expect(r.pos).toBe(1);
    expect(r.u16()).toBe(0x0203);
    for (const read of [() => r.u16(), () => r.i16(), () => r.u32(), () => r.i32(), () => r.u64(), () => r.i64(), () => r.f32(), () => r.f64(), () => r.bytes(2), () => r.utf8(2)]) {
      expect(read).toThrow(ShortRead);
    }
    expect(r.u8()).toBe(4);
    expect(() => r.u8()).toThrow(ShortRead);
  });

  it('refuses a negative length (a lying signed size) instead of reading backwards', () => {
    const r = reader([1, 2, 3, 4], 2);
    try {
      r.bytes(-2, 'blob');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ShortRead);
      expect(err).toMatchObject({ at: 2, needed: -2, what: 'blob' });
    }
    expect(() => r.need(-1, 'x')).toThrow(ShortRead);
  });

  it('each codec raises its own protocol error for a short read', () => {
    const amqp = new AmqpReader(Buffer.from([0, 5, 1]), 0, 3, 60, 20);
    expect(amqp.u16()).toBe(5);
    try {
      amqp.u32();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AmqpCodecError);
      expect(err).toMatchObject({ replyCode: FRAME_ERROR, classId: 60, methodId: 20 });
      expect((err as AmqpCodecError).replyText).toMatch(/^FRAME_ERROR - cannot decode/);
    }
    expect(() => new AmqpReader(Buffer.from([4, 0x61])).shortstr()).toThrow(AmqpCodecError);

    try {
      new Decoder(Buffer.from([0x71, 0, 0])).read(); // an int with two of its four bytes
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(Amqp10DecodeError);
      expect(err).toMatchObject({ condition: Condition.decodeError, scope: 'connection' });
      expect((err as Error).message).toMatch(/truncated encoding: 4 byte\(s\) needed at offset 1, 2 left/);
    }

    const ow = new OpenWireReader(Buffer.from([0, 0, 0, 9, 1]));
    const n = ow.int();
    expect(() => ow.bytes(n)).toThrow(OpenWireDecodeError);
    expect(() => ow.bytes(n)).toThrow(/truncated command: needs 9 more bytes at offset 4, 1 left/);
  });
});
