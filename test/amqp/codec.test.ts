import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Decimal, type FieldTable } from '../../src/core/fields.js';
import type { Message, MessageProperties } from '../../src/core/message.js';
import {
  AmqpCodecError,
  AmqpProtocolHeaderError,
  COMMAND_INVALID,
  EMPTY_PROPERTY_BLOCK,
  FRAME_BODY,
  FRAME_ERROR,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FrameParser,
  HEARTBEAT_FRAME,
  METHOD_SPECS,
  NOT_IMPLEMENTED,
  PROTOCOL_HEADER,
  REPLY_CODE_NAMES,
  bodyFramesSize,
  decodeContentHeader,
  decodeFieldArray,
  decodeFieldTable,
  decodeLongString,
  decodeMethod,
  decodeProperties,
  decodeShortString,
  encodeBasicDeliverFrame,
  encodeContentFrames,
  encodeContentHeaderFrame,
  encodeDelivery,
  encodeFieldArray,
  encodeFieldTable,
  encodeLongString,
  encodeMethodFrame,
  encodeMethodPayload,
  encodeProperties,
  encodeShortString,
  messagePropertyBlock,
  methodInfo,
  type Frame,
  type FrameParserOptions,
  type MethodName,
} from '../../src/protocols/amqp/codec/index.js';

const require = createRequire(import.meta.url);
// amqplib's package exports hide lib/, so load its codec by path (main entry's directory)
const amqplibLib = join(dirname(require.resolve('amqplib')), 'lib');
/* eslint-disable @typescript-eslint/no-explicit-any */
const amqplibDefs: any = require(join(amqplibLib, 'defs.js'));
const amqplibCodec: any = require(join(amqplibLib, 'codec.js'));

const FIXTURES = new URL('../fixtures/rabbitmq/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

function parseAll(bytes: Buffer | Buffer[], opts: Partial<FrameParserOptions> = {}): Frame[] {
  const frames: Frame[] = [];
  const parser = new FrameParser({ expectProtocolHeader: false, ...opts, onFrame: (f) => frames.push(f) });
  for (const chunk of Array.isArray(bytes) ? bytes : [bytes]) parser.push(chunk);
  return frames;
}

function codecError(fn: () => unknown): AmqpCodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AmqpCodecError);
    return err as AmqpCodecError;
  }
  throw new Error('expected an AmqpCodecError');
}

/** Representative args for any method, derived from its field list. */
function sampleArgs(name: MethodName): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  (METHOD_SPECS[name].fields as readonly (readonly [string, string, unknown?])[]).forEach(([field, type], i) => {
    switch (type) {
      case 'octet':
        args[field] = 200 + i;
        break;
      case 'short':
        args[field] = 60000 + i;
        break;
      case 'long':
        args[field] = 4_000_000_000 + i;
        break;
      case 'longlong':
        args[field] = 2 ** 40 + i;
        break;
      case 'shortstr':
        args[field] = `${field}-é-${i}`;
        break;
      case 'longstr':
        args[field] = Buffer.from([0, 1, 2, 0xff, i]);
        break;
      case 'bit':
        args[field] = i % 2 === 0;
        break;
      case 'table':
        args[field] = { 'x-message-ttl': 60000, 'x-dead-letter-exchange': 'dlx', nested: { flag: true } };
        break;
    }
  });
  return args;
}

const ALL_METHODS = Object.keys(METHOD_SPECS) as MethodName[];

// ------------------------------------------------------------------ fixtures

describe('RabbitMQ 3.10 connection.start fixture', () => {
  const bytes = fixture('rabbitmq-3.10-connection-start.bin');

  it('decodes server properties and capabilities', () => {
    const frames = parseAll(bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.type).toBe(FRAME_METHOD);
    expect(frames[0]!.channel).toBe(0);
    const m = decodeMethod(frames[0]!.payload);
    if (m.name !== 'connection.start') throw new Error(m.name);
    expect(m.classId).toBe(10);
    expect(m.methodId).toBe(10);
    expect(m.args.versionMajor).toBe(0);
    expect(m.args.versionMinor).toBe(9);
    expect(m.args.mechanisms.toString()).toBe('PLAIN AMQPLAIN');
    expect(m.args.locales.toString()).toBe('en_US');
    const props = m.args.serverProperties;
    expect(props).toMatchObject({
      product: 'RabbitMQ',
      version: '3.10.8',
      platform: 'Erlang/OTP 25.2.3',
      cluster_name: 'rabbit@vm',
    });
    expect(props.capabilities).toEqual({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    });
  });

  it('re-encodes to the identical bytes', () => {
    const m = decodeMethod(parseAll(bytes)[0]!.payload);
    expect(encodeMethodFrame(0, m.name, m.args as never).equals(bytes)).toBe(true);
  });

  it('agrees with amqplib', () => {
    const theirs = amqplibDefs.decode(amqplibDefs.ConnectionStart, bytes.subarray(11, bytes.length - 1));
    const ours = decodeMethod(bytes.subarray(7, bytes.length - 1));
    expect(ours.args).toEqual(theirs);
  });
});

describe('protocol header', () => {
  it('accepts AMQP 0 0 9 1 and reports it before the frames that follow', () => {
    const events: string[] = [];
    const parser = new FrameParser({
      onProtocolHeader: () => events.push('header'),
      onFrame: (f) => events.push(`frame ${f.type}`),
    });
    parser.push(Buffer.concat([PROTOCOL_HEADER, HEARTBEAT_FRAME]));
    expect(events).toEqual(['header', 'frame 8']);
  });

  it('rejects another header distinctly, with RabbitMQ’s reply bytes', () => {
    const parser = new FrameParser({ onFrame: () => undefined });
    parser.push(Buffer.from('AMQP'));
    let caught: unknown;
    try {
      parser.push(Buffer.from([0, 0, 9, 2]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AmqpProtocolHeaderError);
    const err = caught as AmqpProtocolHeaderError;
    expect(err.received).toEqual(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 2]));
    expect(err.reply.equals(fixture('rabbitmq-3.10-bad-protocol-header-reply.bin'))).toBe(true);
    // the parser stays failed
    expect(() => parser.push(HEARTBEAT_FRAME)).toThrow(AmqpProtocolHeaderError);
  });

  it('rejects a non-AMQP client (HTTP) once 8 bytes are in', () => {
    const parser = new FrameParser({ onFrame: () => undefined });
    parser.push(Buffer.from('GET / H'));
    expect(() => parser.push(Buffer.from('TTP/1.1\r\n'))).toThrow(AmqpProtocolHeaderError);
  });
});

// ------------------------------------------------------------------ constants

describe('constants', () => {
  it('names every reply code as RabbitMQ does', () => {
    expect(REPLY_CODE_NAMES[541]).toBe('INTERNAL_ERROR');
    expect(REPLY_CODE_NAMES[406]).toBe('PRECONDITION_FAILED');
    expect(Object.keys(REPLY_CODE_NAMES)).toHaveLength(19);
    for (const [name, value] of Object.entries(amqplibDefs.constants as Record<string, number>)) {
      if (value >= 200 && value < 600 && name !== 'FRAME_END') expect(REPLY_CODE_NAMES[value]).toBe(name);
    }
  });
});

// ------------------------------------------------------------------ field tables

describe('field tables', () => {
  it('decodes every RabbitMQ type letter', () => {
    const entry = (key: string, type: string, value: number[]) => [key.length, ...Buffer.from(key), type.charCodeAt(0), ...value];
    const body = [
      ...entry('t', 't', [1]),
      ...entry('b', 'b', [0xfe]),
      ...entry('B', 'B', [0xfe]),
      ...entry('s', 's', [0xff, 0xfe]),
      ...entry('u', 'u', [0xff, 0xfe]),
      ...entry('I', 'I', [0xff, 0xff, 0xff, 0xfe]),
      ...entry('i', 'i', [0xff, 0xff, 0xff, 0xfe]),
      ...entry('l', 'l', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]),
      ...entry('lbig', 'l', [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ...entry('f', 'f', [0x3f, 0xc0, 0, 0]),
      ...entry('d', 'd', [...Buffer.from(new Float64Array([2.25]).buffer).reverse()]),
      ...entry('D', 'D', [2, 0, 0, 0x30, 0x39]),
      ...entry('S', 'S', [0, 0, 0, 3, 0x61, 0xc3, 0xa9]),
      ...entry('A', 'A', [0, 0, 0, 7, 0x49, 0, 0, 0, 5, 0x56, 0x56]),
      ...entry('T', 'T', [0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00]),
      ...entry('F', 'F', [0, 0, 0, 3, 1, 0x6b, 0x56]),
      ...entry('V', 'V', []),
      ...entry('x', 'x', [0, 0, 0, 2, 0xde, 0xad]),
    ];
    const bytes = Buffer.from([0, 0, (body.length >> 8) & 0xff, body.length & 0xff, ...body]);
    const t = decodeFieldTable(bytes);
    expect(t).toEqual({
      t: true,
      b: -2,
      B: 254,
      s: -2,
      u: 65534,
      I: -2,
      i: 4294967294,
      l: -2,
      lbig: 2n ** 63n - 1n,
      f: 1.5,
      d: 2.25,
      D: new Decimal(2, 12345),
      S: 'aé',
      A: [5, null, null],
      T: new Date(0x6553f100 * 1000),
      F: { k: null },
      V: null,
      x: Buffer.from([0xde, 0xad]),
    });
    // amqplib reads the same bytes to the same numbers and strings
    const theirs = amqplibCodec.decodeFields(bytes.subarray(4));
    for (const k of ['t', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f', 'd', 'S', 'V']) expect(t[k]).toEqual(theirs[k]);
  });

  it('round-trips every JS value kind through the encoder', () => {
    const table: FieldTable = {
      bool: false,
      int: -123456,
      int32max: 2147483647,
      int64: 2 ** 40,
      negint64: -(2 ** 52),
      big: -(2n ** 63n),
      double: 3.25,
      str: 'héllo',
      bytes: Buffer.from([1, 2, 3]),
      date: new Date(1_700_000_000_000),
      decimal: new Decimal(3, 4_000_000_000),
      array: [1, 'two', [true], { deep: 'er' }, null],
      table: { a: { b: { c: 'd' } } },
      void: null,
    };
    const enc = encodeFieldTable(table);
    expect(enc.readUInt32BE(0)).toBe(enc.length - 4);
    expect(decodeFieldTable(enc)).toEqual(table);
    // undefined encodes as void
    expect(decodeFieldTable(encodeFieldTable({ u: undefined }))).toEqual({ u: null });
  });

  it('picks the type letters RabbitMQ clients expect', () => {
    const letters = (v: FieldTable[string]) => String.fromCharCode(encodeFieldTable({ k: v })[6]!);
    expect(letters(true)).toBe('t');
    expect(letters(1)).toBe('I');
    expect(letters(2 ** 31)).toBe('l');
    expect(letters(1.5)).toBe('d');
    expect(letters(5n)).toBe('l');
    expect(letters('s')).toBe('S');
    expect(letters(Buffer.alloc(1))).toBe('x');
    expect(letters(new Date())).toBe('T');
    expect(letters(new Decimal(1, 1))).toBe('D');
    expect(letters([])).toBe('A');
    expect(letters({})).toBe('F');
    expect(letters(null)).toBe('V');
  });

  it('reads amqplib’s tables and amqplib reads ours', () => {
    // amqplib picks the narrowest integer letter (b/s/I/l) where we always write I or l
    const table = { s: 'str', n: 42, big: 70000, neg: -7, b: true, d: 1.5, nested: { a: 'b' }, arr: ['x', 1] };
    const theirs = Buffer.alloc(1024);
    const len = amqplibCodec.encodeTable(theirs, table, 0);
    expect(decodeFieldTable(theirs.subarray(0, len))).toEqual(table);
    expect(amqplibCodec.decodeFields(encodeFieldTable(table).subarray(4))).toEqual(table);
    const strings = { a: 'x', b: true, c: { d: 'e' }, f: 2 ** 40 };
    const len2 = amqplibCodec.encodeTable(theirs, strings, 0);
    expect(encodeFieldTable(strings).equals(theirs.subarray(0, len2))).toBe(true);
  });

  it('encodes and decodes field arrays on their own', () => {
    const arr = [1, 'a', { k: false }];
    expect(decodeFieldArray(encodeFieldArray(arr))).toEqual(arr);
  });

  it('keeps a "__proto__" key as data', () => {
    const bytes = Buffer.from([0, 0, 0, 11, 9, ...Buffer.from('__proto__'), 0x56]);
    const t = decodeFieldTable(bytes);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.keys(t)).toEqual(['__proto__']);
  });

  it('rejects malformed tables with FRAME_ERROR', () => {
    expect(codecError(() => decodeFieldTable(Buffer.from([0, 0, 0, 3, 1, 0x6b, 0x3f]))).replyCode).toBe(FRAME_ERROR);
    expect(codecError(() => decodeFieldTable(Buffer.from([0, 0, 0, 9, 1, 0x6b]))).replyCode).toBe(FRAME_ERROR);
    // an entry that runs past the table's own length
    expect(codecError(() => decodeFieldTable(Buffer.from([0, 0, 0, 3, 1, 0x6b, 0x49, 0, 0, 0, 1]))).replyCode).toBe(FRAME_ERROR);
  });

  it('refuses keys and short strings over 255 bytes', () => {
    expect(() => encodeFieldTable({ ['k'.repeat(256)]: 1 })).toThrow(RangeError);
    expect(() => encodeShortString('é'.repeat(128))).toThrow(RangeError);
  });

  it('has short and long string helpers', () => {
    const s = encodeShortString('abc');
    expect([...s]).toEqual([3, 0x61, 0x62, 0x63]);
    expect(decodeShortString(s)).toEqual({ value: 'abc', next: 4 });
    const l = encodeLongString('hé');
    expect([...l]).toEqual([0, 0, 0, 3, 0x68, 0xc3, 0xa9]);
    expect(decodeLongString(l)).toEqual({ value: 'hé', next: 7 });
  });
});

// ------------------------------------------------------------------ methods

describe('methods', () => {
  it('has every method of connection, channel, exchange, queue, basic, confirm and tx', () => {
    const ids = ALL_METHODS.map((n) => `${METHOD_SPECS[n].classId}/${METHOD_SPECS[n].methodId}`);
    for (const id of ['10/60', '10/61', '10/70', '10/71', '40/30', '40/31', '40/40', '40/51', '60/120', '85/10', '85/11', '90/31']) {
      expect(ids).toContain(id);
    }
  });

  it('agrees with amqplib’s definitions on every method’s ids and field types', () => {
    const theirs = Object.keys(amqplibDefs).filter((k) => k.startsWith('methodInfo'));
    expect(theirs.length).toBe(ALL_METHODS.length);
    for (const key of theirs) {
      const info = amqplibDefs[key];
      const ours = methodInfo({ classId: info.classId, methodId: info.methodId });
      expect(ours, key).toBeDefined();
      const ourTypes = (METHOD_SPECS[ours!.name].fields as readonly (readonly [string, string])[]).map((f) => f[1]);
      expect(ourTypes, key).toEqual(info.args.map((a: { type: string }) => a.type));
    }
  });

  it.each(ALL_METHODS)('round-trips %s', (name) => {
    const args = sampleArgs(name);
    const frame = encodeMethodFrame(3, name, args as never);
    const [f] = parseAll(frame, { frameMax: 0 });
    expect(f!.type).toBe(FRAME_METHOD);
    expect(f!.channel).toBe(3);
    const m = decodeMethod(f!.payload);
    expect(m.name).toBe(name);
    expect(m.classId).toBe(METHOD_SPECS[name].classId);
    expect(m.methodId).toBe(METHOD_SPECS[name].methodId);
    expect(m.args).toEqual(args);
    expect(Object.keys(m.args)).toEqual(Object.keys(args));
    expect(encodeMethodPayload(name, args as never).equals(f!.payload)).toBe(true);
  });

  it.each(ALL_METHODS)('%s: amqplib decodes our bytes and we decode amqplib’s', (name) => {
    const { classId, methodId } = METHOD_SPECS[name];
    const id = (classId << 16) | methodId;
    const names: string[] = amqplibDefs.info(id).args.map((a: { name: string }) => a.name);
    const ourNames = Object.keys(sampleArgs(name));
    const ours = sampleArgs(name);
    const theirs: Record<string, unknown> = {};
    ourNames.forEach((n, i) => (theirs[names[i]!] = ours[n]));

    const ourFrame = encodeMethodFrame(7, name, ours as never);
    expect(amqplibDefs.decode(id, ourFrame.subarray(11, ourFrame.length - 1))).toEqual(theirs);

    const theirFrame: Buffer = amqplibDefs.encodeMethod(id, 7, theirs);
    expect(theirFrame.equals(ourFrame)).toBe(true);
    expect(decodeMethod(theirFrame.subarray(7, theirFrame.length - 1)).args).toEqual(ours);
  });

  it('decodes queue.declare with camelCase args and packed bits', () => {
    const frame = encodeMethodFrame(1, 'queue.declare', { queue: 'orders', durable: true, autoDelete: true, arguments: { 'x-max-length': 10 } });
    // bits: passive 1, durable 2, exclusive 4, auto-delete 8, no-wait 16 share one octet
    const payload = frame.subarray(7, frame.length - 1);
    expect(payload[4 + 2 + 1 + 6]).toBe(0b01010);
    expect(decodeMethod(payload)).toEqual({
      classId: 50,
      methodId: 10,
      name: 'queue.declare',
      args: {
        reserved1: 0,
        queue: 'orders',
        passive: false,
        durable: true,
        exclusive: false,
        autoDelete: true,
        noWait: false,
        arguments: { 'x-max-length': 10 },
      },
    });
  });

  it('fills spec defaults for omitted args', () => {
    const m = decodeMethod(encodeMethodPayload('basic.nack', { deliveryTag: 5 }));
    expect(m.args).toEqual({ deliveryTag: 5, multiple: false, requeue: true });
    expect(decodeMethod(encodeMethodPayload('connection.open', {})).args).toMatchObject({ virtualHost: '/' });
    expect(decodeMethod(encodeMethodPayload({ classId: 60, methodId: 90 }, { deliveryTag: 1 })).name).toBe('basic.reject');
  });

  it('decodes basic.publish and basic.ack on their fast paths like the generic path', () => {
    const pub = encodeMethodPayload('basic.publish', { exchange: 'amq.topic', routingKey: 'a.b.c', mandatory: true });
    expect(decodeMethod(pub)).toEqual({
      classId: 60,
      methodId: 40,
      name: 'basic.publish',
      args: { reserved1: 0, exchange: 'amq.topic', routingKey: 'a.b.c', mandatory: true, immediate: false },
    });
    const empty = encodeMethodPayload('basic.publish', {});
    expect(decodeMethod(empty).args).toEqual({ reserved1: 0, exchange: '', routingKey: '', mandatory: false, immediate: false });
    const ack = encodeMethodPayload('basic.ack', { deliveryTag: 2 ** 50 + 3, multiple: true });
    expect(decodeMethod(ack).args).toEqual({ deliveryTag: 2 ** 50 + 3, multiple: true });
  });

  it('encodes basic.deliver on its fast path like the generic path and like amqplib', () => {
    const fast = encodeBasicDeliverFrame(9, 'ctag-1', 42, true, 'ex', 'rk');
    const generic = encodeMethodFrame(9, 'basic.deliver', { consumerTag: 'ctag-1', deliveryTag: 42, redelivered: true, exchange: 'ex', routingKey: 'rk' });
    expect(fast.equals(generic)).toBe(true);
    const theirs = amqplibDefs.encodeMethod(amqplibDefs.BasicDeliver, 9, { consumerTag: 'ctag-1', deliveryTag: 42, redelivered: true, exchange: 'ex', routingKey: 'rk' });
    expect(fast.equals(theirs)).toBe(true);
  });

  it('throws NOT_IMPLEMENTED for an unknown class and COMMAND_INVALID for an unknown method', () => {
    const unknownClass = codecError(() => decodeMethod(Buffer.from([0, 99, 0, 10])));
    expect(unknownClass.replyCode).toBe(NOT_IMPLEMENTED);
    expect(unknownClass.classId).toBe(99);
    const unknownMethod = codecError(() => decodeMethod(Buffer.from([0, 60, 0, 99])));
    expect(unknownMethod.replyCode).toBe(COMMAND_INVALID);
    expect(unknownMethod.methodId).toBe(99);
    expect(unknownMethod.replyText).toMatch(/^COMMAND_INVALID - /);
  });

  it('throws FRAME_ERROR (RabbitMQ’s "cannot decode") for truncated or overlong args, at every length', () => {
    for (const name of ['queue.declare', 'basic.publish', 'basic.ack', 'connection.start-ok', 'basic.deliver'] as const) {
      const payload = encodeMethodPayload(name, sampleArgs(name) as never);
      for (let len = 0; len < payload.length; len++) {
        const err = codecError(() => decodeMethod(payload.subarray(0, len)));
        expect(err.replyCode).toBe(FRAME_ERROR);
        if (len >= 4) expect([err.classId, err.methodId]).toEqual([METHOD_SPECS[name].classId, METHOD_SPECS[name].methodId]);
      }
      const longer = Buffer.concat([payload, Buffer.from([0])]);
      expect(codecError(() => decodeMethod(longer)).replyCode).toBe(FRAME_ERROR);
    }
  });

  it('refuses to encode wrong types and oversize short strings', () => {
    expect(() => encodeMethodFrame(1, 'queue.declare', { queue: 5 as unknown as string })).toThrow(TypeError);
    expect(() => encodeMethodFrame(1, 'queue.declare', { queue: 'q'.repeat(256) })).toThrow(RangeError);
    expect(() => encodeMethodFrame(1, { classId: 1, methodId: 1 })).toThrow(TypeError);
  });
});

// ------------------------------------------------------------------ content header

const FULL_PROPS: MessageProperties = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: { 'x-death': [{ count: 1, reason: 'expired' }], n: 7 },
  deliveryMode: 2,
  priority: 9,
  correlationId: 'corr',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'm-1',
  timestamp: 1_700_000_000,
  type: 'order.created',
  userId: 'guest',
  appId: 'app',
  clusterId: 'c',
};

describe('content header', () => {
  it('round-trips every property and hands back the raw property bytes', () => {
    const frame = encodeContentHeaderFrame(4, 123456789012, FULL_PROPS);
    const [f] = parseAll(frame);
    expect(f!.type).toBe(FRAME_HEADER);
    const h = decodeContentHeader(f!.payload);
    expect(h.classId).toBe(60);
    expect(h.weight).toBe(0);
    expect(h.bodySize).toBe(123456789012);
    expect(h.properties).toEqual(FULL_PROPS);
    expect(h.propertyBytes.equals(encodeProperties(FULL_PROPS))).toBe(true);
    expect(h.propertyBytes.readUInt16BE(0)).toBe(0xfffc);
    expect(decodeProperties(h.propertyBytes)).toEqual(FULL_PROPS);
  });

  it('encodes the flags one property at a time', () => {
    const flags: [keyof MessageProperties, number, unknown][] = [
      ['contentType', 0x8000, 'text/plain'],
      ['contentEncoding', 0x4000, 'utf8'],
      ['headers', 0x2000, {}],
      ['deliveryMode', 0x1000, 1],
      ['priority', 0x0800, 0],
      ['correlationId', 0x0400, ''],
      ['replyTo', 0x0200, 'r'],
      ['expiration', 0x0100, '0'],
      ['messageId', 0x0080, 'id'],
      ['timestamp', 0x0040, 0],
      ['type', 0x0020, 't'],
      ['userId', 0x0010, 'u'],
      ['appId', 0x0008, 'a'],
      ['clusterId', 0x0004, 'c'],
    ];
    for (const [key, flag, value] of flags) {
      const block = encodeProperties({ [key]: value });
      expect(block.readUInt16BE(0), key).toBe(flag);
      expect(decodeProperties(block)).toEqual({ [key]: value });
    }
    expect(encodeProperties({}).equals(EMPTY_PROPERTY_BLOCK)).toBe(true);
  });

  it('agrees with amqplib both ways', () => {
    const theirs: Buffer = amqplibDefs.encodeProperties(60, 4, 99, FULL_PROPS);
    const ours = encodeContentHeaderFrame(4, 99, FULL_PROPS);
    const decoded = amqplibDefs.decode(60, ours.subarray(19, ours.length - 1));
    for (const [k, v] of Object.entries(FULL_PROPS)) expect(decoded[k], k).toEqual(v);
    expect(decodeContentHeader(theirs.subarray(7, theirs.length - 1)).properties).toEqual(FULL_PROPS);
    // byte for byte where no integer in the headers lets amqplib pick a narrower letter
    const { headers: _h, ...noHeaders } = FULL_PROPS;
    const props = { ...noHeaders, headers: { s: 'v', big: 2 ** 40 } };
    expect(encodeContentHeaderFrame(4, 99, props).equals(amqplibDefs.encodeProperties(60, 4, 99, props))).toBe(true);
  });

  it('rejects truncated or overlong property blocks with FRAME_ERROR', () => {
    const block = encodeProperties(FULL_PROPS);
    for (let len = 0; len < block.length; len++) {
      expect(codecError(() => decodeProperties(block.subarray(0, len))).replyCode).toBe(FRAME_ERROR);
    }
    expect(codecError(() => decodeProperties(Buffer.concat([block, Buffer.from([1])]))).replyCode).toBe(FRAME_ERROR);
    expect(codecError(() => decodeContentHeader(Buffer.alloc(5))).replyCode).toBe(FRAME_ERROR);
  });
});

// ------------------------------------------------------------------ frame parser

describe('frame parser', () => {
  const stream = Buffer.concat([
    PROTOCOL_HEADER,
    encodeMethodFrame(0, 'connection.start-ok', { clientProperties: { product: 'test' }, response: '\0guest\0guest' }),
    encodeMethodFrame(1, 'basic.publish', { exchange: 'x', routingKey: 'k' }),
    encodeContentHeaderFrame(1, 5, { contentType: 'text/plain' }),
    Buffer.from([FRAME_BODY, 0, 1, 0, 0, 0, 5, ...Buffer.from('hello'), 0xce]),
    HEARTBEAT_FRAME,
    Buffer.from([FRAME_BODY, 0, 2, 0, 0, 0, 0, 0xce]),
  ]);

  function collect(chunks: Buffer[]): { header: number; frames: Frame[] } {
    const out = { header: 0, frames: [] as Frame[] };
    const parser = new FrameParser({ onProtocolHeader: () => out.header++, onFrame: (f) => out.frames.push(f) });
    for (const c of chunks) parser.push(c);
    expect(parser.idle).toBe(true);
    return out;
  }

  const expected = collect([stream]);

  it('parses many frames from one chunk as views of it', () => {
    expect(expected.header).toBe(1);
    expect(expected.frames.map((f) => [f.type, f.channel, f.payload.length])).toEqual([
      [FRAME_METHOD, 0, expected.frames[0]!.payload.length],
      [FRAME_METHOD, 1, 4 + 2 + 2 + 2 + 1],
      [FRAME_HEADER, 1, 12 + 2 + 11],
      [FRAME_BODY, 1, 5],
      [FRAME_HEARTBEAT, 0, 0],
      [FRAME_BODY, 2, 0],
    ]);
    expect(expected.frames[3]!.payload.toString()).toBe('hello');
    for (const f of expected.frames) if (f.payload.length > 0) expect(f.payload.buffer).toBe(stream.buffer);
  });

  it('gives the same frames when split at every byte boundary', () => {
    const want = expected.frames.map((f) => [f.type, f.channel, f.payload.toString('hex')]);
    for (let i = 0; i <= stream.length; i++) {
      const got = collect([stream.subarray(0, i), stream.subarray(i)]);
      expect(got.header).toBe(1);
      expect(got.frames.map((f) => [f.type, f.channel, f.payload.toString('hex')])).toEqual(want);
    }
  });

  it('gives the same frames for every pair of split points and byte by byte', () => {
    const want = expected.frames.map((f) => [f.type, f.channel, f.payload.toString('hex')]);
    for (let i = 0; i <= stream.length; i += 3) {
      for (let j = i; j <= stream.length; j += 5) {
        const got = collect([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        expect(got.frames.map((f) => [f.type, f.channel, f.payload.toString('hex')])).toEqual(want);
      }
    }
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(collect(bytes).frames.map((f) => [f.type, f.channel, f.payload.toString('hex')])).toEqual(want);
  });

  it('reports a wrong frame-end octet as FRAME_ERROR, whole or split', () => {
    const bad = Buffer.from(HEARTBEAT_FRAME);
    bad[7] = 0xcd;
    expect(codecError(() => parseAll(bad)).replyCode).toBe(FRAME_ERROR);
    expect(codecError(() => parseAll([bad.subarray(0, 7), bad.subarray(7)])).replyCode).toBe(FRAME_ERROR);
    const body = Buffer.from([FRAME_BODY, 0, 1, 0, 0, 0, 2, 1, 2, 0x00]);
    expect(codecError(() => parseAll([body.subarray(0, 8), body.subarray(8)])).message).toMatch(/frame end/);
  });

  it('delivers frames that precede a fault, then stays failed', () => {
    const frames: Frame[] = [];
    const parser = new FrameParser({ expectProtocolHeader: false, onFrame: (f) => frames.push(f) });
    const bad = Buffer.concat([HEARTBEAT_FRAME, Buffer.from([FRAME_METHOD, 0, 0, 0, 0, 0, 0, 0x00])]);
    expect(() => parser.push(bad)).toThrow(AmqpCodecError);
    expect(frames).toHaveLength(1);
    expect(() => parser.push(HEARTBEAT_FRAME)).toThrow(AmqpCodecError);
    expect(frames).toHaveLength(1);
  });

  it('reports an unknown frame type as FRAME_ERROR', () => {
    const err = codecError(() => parseAll(Buffer.from([4, 0, 0, 0, 0, 0, 0, 0xce])));
    expect(err.replyCode).toBe(FRAME_ERROR);
    expect(err.message).toMatch(/unknown frame type 4/);
  });

  it('refuses a frame beyond frame_max (4096 before tuning; settable), before reading its payload', () => {
    const header = (size: number) => Buffer.from([FRAME_BODY, 0, 1, (size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff]);
    // RabbitMQ tolerates payloads up to frame_max itself (its 8-byte fudge), no further
    expect(() => parseAll(header(4096))).not.toThrow();
    expect(codecError(() => parseAll(header(4097))).replyCode).toBe(FRAME_ERROR);

    const frames: Frame[] = [];
    const parser = new FrameParser({ expectProtocolHeader: false, onFrame: (f) => frames.push(f) });
    parser.frameMax = 131072;
    const big = Buffer.concat([header(100_000), Buffer.alloc(100_000), Buffer.from([0xce])]);
    parser.push(big);
    expect(frames[0]!.payload.length).toBe(100_000);
    parser.frameMax = 8192;
    expect(() => parser.push(header(8193).subarray(0, 7))).toThrow(/exceeds frame_max/);
    // frameMax 0: no limit
    expect(() => parseAll(header(1_000_000), { frameMax: 0 })).not.toThrow();
  });
});

// ------------------------------------------------------------------ frame writer

describe('frame writer', () => {
  const block = encodeProperties({ contentType: 'text/plain', deliveryMode: 2 });

  function deliveryFrames(bodyLength: number, frameMax: number): Frame[] {
    const body = Buffer.alloc(bodyLength, 0x61);
    const out = encodeDelivery(5, 'amq.ctag-xyz', 77, false, 'amq.direct', 'key', block, body, frameMax);
    const frames = parseAll(out, { frameMax });
    for (const f of frames) expect(f.payload.length + 8).toBeLessThanOrEqual(frameMax);
    expect(out.length).toBe(frames.reduce((n, f) => n + f.payload.length + 8, 0));
    return frames;
  }

  it('writes deliver + header + body, splitting the body at frame_max', () => {
    const frames = deliveryFrames(10_000, 4096);
    expect(frames.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_BODY, FRAME_BODY]);
    expect(frames.map((f) => f.payload.length).slice(2)).toEqual([4088, 4088, 10_000 - 2 * 4088]);
    expect(frames.every((f) => f.channel === 5)).toBe(true);
    const m = decodeMethod(frames[0]!.payload);
    expect(m).toEqual({
      classId: 60,
      methodId: 60,
      name: 'basic.deliver',
      args: { consumerTag: 'amq.ctag-xyz', deliveryTag: 77, redelivered: false, exchange: 'amq.direct', routingKey: 'key' },
    });
    const h = decodeContentHeader(frames[1]!.payload);
    expect(h.bodySize).toBe(10_000);
    expect(h.propertyBytes.equals(block)).toBe(true);
    expect(Buffer.concat(frames.slice(2).map((f) => f.payload)).equals(Buffer.alloc(10_000, 0x61))).toBe(true);
  });

  it('cuts exactly at the boundary and sends no body frame for an empty body', () => {
    expect(deliveryFrames(4088, 4096).filter((f) => f.type === FRAME_BODY)).toHaveLength(1);
    expect(deliveryFrames(4089, 4096).filter((f) => f.type === FRAME_BODY)).toHaveLength(2);
    expect(deliveryFrames(0, 4096).map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER]);
    expect(bodyFramesSize(0, 4096)).toBe(0);
    expect(bodyFramesSize(8176, 4096)).toBe(8176 + 16);
  });

  it('is byte-identical to amqplib’s frames for the same delivery', () => {
    const body = Buffer.from('payload');
    const { headers: _h, ...props } = FULL_PROPS;
    const ours = encodeDelivery(2, 'c', 1, true, 'e', 'r', encodeProperties(props), body, 131072);
    const theirs = Buffer.concat([
      amqplibDefs.encodeMethod(amqplibDefs.BasicDeliver, 2, { consumerTag: 'c', deliveryTag: 1, redelivered: true, exchange: 'e', routingKey: 'r' }),
      amqplibDefs.encodeProperties(60, 2, body.length, props),
      Buffer.from([FRAME_BODY, 0, 2, 0, 0, 0, body.length]),
      body,
      Buffer.from([0xce]),
    ]);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('frames other content methods the same way', () => {
    const out = encodeContentFrames(1, 'basic.get-ok', { deliveryTag: 3, exchange: 'e', routingKey: 'r', messageCount: 2 }, block, Buffer.alloc(5000), 4096);
    const frames = parseAll(out);
    expect(frames.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_BODY]);
    expect(decodeMethod(frames[0]!.payload).name).toBe('basic.get-ok');
    const ret = parseAll(encodeContentFrames(1, 'basic.return', { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'e', routingKey: 'r' }, block, Buffer.alloc(0), 4096));
    expect(ret.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER]);
  });

  it('reuses a message’s encoded properties, encoding and caching them when absent', () => {
    const msg: Message = { exchange: '', routingKey: 'q', properties: { messageId: 'a' }, body: Buffer.alloc(0), publishedAt: 0 };
    const first = messagePropertyBlock(msg);
    expect(decodeProperties(first)).toEqual({ messageId: 'a' });
    expect(messagePropertyBlock(msg)).toBe(first);
    const raw = Buffer.from([0, 0]);
    expect(messagePropertyBlock({ ...msg, encodedProperties: raw })).toBe(raw);
  });

  it('has the heartbeat frame', () => {
    expect([...HEARTBEAT_FRAME]).toEqual([8, 0, 0, 0, 0, 0, 0, 0xce]);
  });
});
