import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  Amqp10DecodeError,
  Amqp10Error,
  AmqpMap,
  Decoder,
  Described,
  Encoder,
  FRAME_AMQP,
  FrameReader,
  HEADER_AMQP,
  HEADER_SASL,
  Sym,
  Typed,
  Uuid,
  array,
  decodeFrameBody,
  decodeMessage,
  decodeValue,
  encodeMessage,
  encodeValue,
  long,
  sym,
  ubyte,
  uint,
  ulong,
  writeComposite,
  writeFrame,
  type AmqpValue,
  type Composite,
} from '../../src/protocols/amqp10/codec/index.js';

// rhea's own encoder and decoder serve as an independent second implementation
const require = createRequire(import.meta.url);
const rheaMessage = require('rhea').message as { encode(m: object): Buffer; decode(b: Buffer): Record<string, unknown> };
const rheaFrames = require('rhea/lib/frames.js') as {
  write_frame(f: object): Buffer;
  read_frame(b: Buffer): { type: number; channel: number; performative: { constructor: { name?: string }; [k: string]: unknown } };
  amqp_frame(channel: number, performative: object, payload?: Buffer): object;
  open(fields: object): object;
  attach(fields: object): object;
  transfer(fields: object): object;
};

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const roundTrip = (v: AmqpValue) => decodeValue(encodeValue(v));

describe('AMQP 1.0 primitive types', () => {
  it('decodes every fixed-width encoding (part 1, 1.6)', () => {
    expect(decodeValue(hex('40'))).toBe(null);
    expect(decodeValue(hex('41'))).toBe(true);
    expect(decodeValue(hex('42'))).toBe(false);
    expect(decodeValue(hex('5601'))).toBe(true);
    expect(decodeValue(hex('50ff'))).toBe(255);
    expect(decodeValue(hex('51ff'))).toBe(-1);
    expect(decodeValue(hex('60ffff'))).toBe(65535);
    expect(decodeValue(hex('61ff00'))).toBe(-256);
    expect(decodeValue(hex('43'))).toBe(0);
    expect(decodeValue(hex('5207'))).toBe(7);
    expect(decodeValue(hex('70ffffffff'))).toBe(4294967295);
    expect(decodeValue(hex('71fffffffe'))).toBe(-2);
    expect(decodeValue(hex('44'))).toBe(0);
    expect(decodeValue(hex('5310'))).toBe(16);
    expect(decodeValue(hex('80ffffffffffffffff'))).toBe(18446744073709551615n);
    expect(decodeValue(hex('800000000000000100'))).toBe(256);
    expect(decodeValue(hex('54f6'))).toBe(-10);
    expect(decodeValue(hex('55f6'))).toBe(-10);
    expect(decodeValue(hex('81fffffffffffffff6'))).toBe(-10);
    expect(decodeValue(hex('723fc00000'))).toBe(1.5);
    expect(decodeValue(hex('823ff8000000000000'))).toBe(1.5);
    expect(decodeValue(hex('730001f600'))).toBe('😀');
    expect((decodeValue(hex('83 0000018bcfe56800')) as Date).getTime()).toBe(1700000000000);
    expect(decodeValue(hex('98 00112233445566778899aabbccddeeff'))).toEqual(new Uuid(hex('00112233445566778899aabbccddeeff')));
    expect(decodeValue(hex('a003010203'))).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeValue(hex('b000000002abcd'))).toEqual(Buffer.from([0xab, 0xcd]));
    expect(decodeValue(hex('a103c3a961'))).toBe('éa');
    expect(decodeValue(hex('b10000000161'))).toBe('a');
    expect(decodeValue(hex('a303666f6f'))).toEqual(new Sym('foo'));
    expect(decodeValue(hex('b300000001 78'))).toEqual(new Sym('x'));
    expect(decodeValue(hex('74 01020304'))).toEqual(new Typed('decimal32', hex('01020304')));
  });

  it('encodes each value in its smallest form and decodes it back', () => {
    expect(encodeValue(0)).toEqual(hex('5400'));
    expect(encodeValue(uint(0))).toEqual(hex('43'));
    expect(encodeValue(uint(200))).toEqual(hex('52c8'));
    expect(encodeValue(uint(70000))).toEqual(hex('7000011170'));
    expect(encodeValue(ulong(0))).toEqual(hex('44'));
    expect(encodeValue(ulong(0x53))).toEqual(hex('5353'));
    expect(encodeValue(ulong(2n ** 64n - 1n))).toEqual(hex('80ffffffffffffffff'));
    expect(encodeValue(-5)).toEqual(hex('54fb'));
    expect(encodeValue(100000)).toEqual(hex('71000186a0'));
    expect(encodeValue(2 ** 40)).toEqual(hex('810000010000000000'));
    expect(encodeValue(long(-2))).toEqual(hex('55fe'));
    expect(encodeValue(0.5)).toEqual(hex('823fe0000000000000'));
    expect(encodeValue('a')).toEqual(hex('a10161'));
    expect(encodeValue(sym('a'))).toEqual(hex('a30161'));
    expect(encodeValue('x'.repeat(300)).subarray(0, 5)).toEqual(hex('b10000012c'));
    expect(encodeValue(ubyte(9))).toEqual(hex('5009'));
    for (const v of [null, true, false, 1, -1, 2 ** 53 - 1, 2n ** 62n, 1.25, 'héllo', Buffer.from('xyz'), new Date(1700000000123), new Sym('s'), new Uuid(Buffer.alloc(16, 7))]) {
      expect(roundTrip(v)).toEqual(v);
    }
  });

  it('lists, maps and arrays: small and large forms, nested', () => {
    expect(encodeValue([])).toEqual(hex('45'));
    expect(encodeValue([1, 'a'])).toEqual(hex('c0 06 02 5401 a10161'));
    const big = Array.from({ length: 300 }, (_, i) => i);
    const enc = encodeValue(big);
    expect(enc[0]).toBe(0xd0);
    expect(decodeValue(enc)).toEqual(big);
    const m = new AmqpMap([
      [sym('k'), 'v'],
      ['n', [1, 2, new AmqpMap([['deep', true]])]],
    ]);
    const back = roundTrip(m) as AmqpMap;
    expect(back).toBeInstanceOf(AmqpMap);
    expect(back.get('k')).toBe('v');
    expect(back.entries[0]![0]).toEqual(sym('k'));
    expect((back.get('n') as AmqpValue[])[2]).toEqual(new AmqpMap([['deep', true]]));
    expect(decodeValue(encodeValue(array('symbol', ['a', 'bc'])))).toEqual([sym('a'), sym('bc')]);
    expect(encodeValue(array('symbol', ['a']))).toEqual(hex('e0 07 01 b3 00000001 61'));
    expect(decodeValue(encodeValue(array('uint', [1, 2, 3])))).toEqual([1, 2, 3]);
    expect(decodeValue(encodeValue(array('long', [-1, 5])))).toEqual([-1, 5]);
    expect(decodeValue(encodeValue(array('boolean', [true, false])))).toEqual([true, false]);
    expect(decodeValue(encodeValue(array('map', [{ a: 1 }, {}])))).toEqual([new AmqpMap([['a', 1]]), new AmqpMap([])]);
    // a described array: one descriptor for every element
    expect(decodeValue(hex('e0 08 02 00 a3 01 64 50 01 02'))).toEqual([new Described(sym('d'), 1), new Described(sym('d'), 2)]);
  });

  it('reads values rhea writes, and rhea reads ours', () => {
    const fromRhea = rheaMessage.encode({
      durable: true,
      priority: 7,
      ttl: 5000,
      message_id: 'm1',
      correlation_id: 'c1',
      reply_to: '/queues/r',
      subject: 'subj',
      content_type: 'text/plain',
      creation_time: new Date(1700000000000),
      application_properties: { a: 1, b: 'two', c: true, d: 2.5 },
      message_annotations: { 'x-opt-jms-msg-type': 5 },
      body: 'hello',
    });
    const { message } = decodeMessage(fromRhea);
    expect(message.header).toMatchObject({ durable: true, priority: 7, ttl: 5000 });
    expect(message.properties).toMatchObject({ messageId: 'm1', correlationId: 'c1', replyTo: '/queues/r', subject: 'subj', contentType: 'text/plain' });
    expect(message.properties!.creationTime!.getTime()).toBe(1700000000000);
    expect(message.applicationProperties!.get('a')).toBe(1);
    expect(message.applicationProperties!.get('b')).toBe('two');
    expect(message.applicationProperties!.get('d')).toBe(2.5);
    expect(message.messageAnnotations!.get('x-opt-jms-msg-type')).toBe(5);
    expect(message.body).toEqual({ kind: 'value', value: 'hello' });

    const ours = encodeMessage({
      header: { durable: true, priority: 3, ttl: 1000 },
      messageAnnotations: AmqpMap.symbols({ 'x-opt-x': 'y' }),
      properties: { messageId: 'id-1', to: '/queues/q', subject: 's', contentType: 'application/json', groupId: 'g', creationTime: new Date(1700000000000) },
      applicationProperties: AmqpMap.strings({ k: 'v', n: 42, big: 2n ** 40n, f: false }),
      body: { kind: 'data', chunks: [Buffer.from('{"a":1}')] },
    });
    const r = rheaMessage.decode(ours) as Record<string, unknown>;
    expect(r).toMatchObject({ durable: true, priority: 3, ttl: 1000, message_id: 'id-1', to: '/queues/q', subject: 's', content_type: 'application/json', group_id: 'g' });
    expect(r.application_properties).toMatchObject({ k: 'v', n: 42, f: false });
    expect(r.message_annotations).toMatchObject({ 'x-opt-x': 'y' });
    expect(Buffer.from((r.body as { content: Buffer }).content).toString()).toBe('{"a":1}');
  });
});

describe('AMQP 1.0 message sections', () => {
  it('finds the bare message and the body, with several data sections and a footer', () => {
    const buf = encodeMessage({
      header: { durable: false },
      deliveryAnnotations: AmqpMap.symbols({ 'x-da': 1 }),
      properties: { messageId: 5 },
      body: { kind: 'data', chunks: [Buffer.from('ab'), Buffer.from('cd')] },
      footer: AmqpMap.symbols({ 'x-sig': 'z' }),
    });
    const d = decodeMessage(buf);
    expect(d.message.body).toEqual({ kind: 'data', chunks: [Buffer.from('ab'), Buffer.from('cd')] });
    expect(d.message.deliveryAnnotations!.get('x-da')).toBe(1);
    expect(d.message.footer!.get('x-sig')).toBe('z');
    // the bare message starts at properties (0x73)
    expect(buf.subarray(d.bareStart, d.bareStart + 3)).toEqual(hex('005373'));
    expect(buf.subarray(d.bodyStart, d.bodyStart + 3)).toEqual(hex('005375'));
    expect(buf.subarray(d.bodyEnd, d.bodyEnd + 3)).toEqual(hex('005378'));
  });

  it('amqp-sequence sections and amqp-value bodies', () => {
    const seq = decodeMessage(encodeMessage({ body: { kind: 'sequence', lists: [[1, 2], ['x']] } }));
    expect(seq.message.body).toEqual({ kind: 'sequence', lists: [[1, 2], ['x']] });
    const val = decodeMessage(encodeMessage({ body: { kind: 'value', value: AmqpMap.strings({ a: 1 }) } }));
    expect(val.message.body).toEqual({ kind: 'value', value: new AmqpMap([['a', 1]]) });
  });

  it('refuses sections out of order, repeated, or unknown', () => {
    const props = hex('005373 45');
    const header = hex('005370 45');
    expect(() => decodeMessage(Buffer.concat([props, header]))).toThrow(/out of order/);
    expect(() => decodeMessage(Buffer.concat([props, props]))).toThrow(/repeated/);
    expect(() => decodeMessage(hex('0053 7f 45'))).toThrow(/unknown message section/);
    expect(() => decodeMessage(Buffer.concat([hex('005377 40'), hex('005377 40')]))).toThrow(Amqp10DecodeError);
    expect(() => decodeMessage(hex('005375 a1 01 61'))).toThrow(/binary/);
  });
});

describe('AMQP 1.0 malformed input', () => {
  const bad: [string, string, RegExp][] = [
    ['truncated uint', '70 0000', /truncated/],
    ['unknown constructor', 'ff', /unknown type constructor 0xff/],
    ['list count beyond its size', 'c0 02 7f 40', /count 127 exceeds/],
    ['list size beyond the input', 'd0 000000ff 00000001 40', /truncated/],
    ['odd map count', 'c1 02 01 40', /odd element count/],
    ['string beyond the input', 'a1 05 6162', /truncated/],
    ['bad boolean', '56 02', /invalid boolean/],
    ['list whose elements overrun it', 'c0 02 01 a1 05 6162636465', /overrun/],
    ['zero-width array of absurd length', 'f0 00000005 7fffffff 40', /array count/],
    ['descriptor of a wrong type', '00 a1 01 61 40', /descriptor must be/],
  ];
  for (const [what, bytes, error] of bad) {
    it(`${what} → amqp:decode-error`, () => {
      let err: unknown;
      try {
        decodeValue(hex(bytes));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Amqp10DecodeError);
      expect((err as Amqp10DecodeError).condition).toBe('amqp:decode-error');
      expect((err as Error).message).toMatch(error);
    });
  }

  it('refuses values nested past the limit instead of overflowing the stack', () => {
    const deep = Buffer.concat([Buffer.from(Array.from({ length: 200 }, () => [0xc0, 0x00, 0x01]).flat()), hex('40')]);
    // fix the sizes from the inside out
    let size = 1;
    for (let i = 199; i >= 0; i--) {
      deep[i * 3 + 1] = Math.min(size + 1, 255);
      size += 3;
    }
    expect(() => new Decoder(deep).read()).toThrow(/nested too deeply|exceeds|overrun|size/);
  });
});

describe('AMQP 1.0 performatives and frames', () => {
  it('writes performatives rhea reads with the right field values', () => {
    const e = new Encoder();
    writeFrame(e, FRAME_AMQP, 3, {
      $: 'attach',
      name: 'link-1',
      handle: 7,
      role: true,
      sndSettleMode: 2,
      rcvSettleMode: 0,
      source: { $: 'source', address: '/queues/q', durable: 2, expiryPolicy: 'never', capabilities: ['queue'] },
      target: { $: 'target' },
      initialDeliveryCount: 0,
      maxMessageSize: 1048576,
    } as Composite);
    const f = rheaFrames.read_frame(e.take());
    expect(f.channel).toBe(3);
    expect(f.performative).toMatchObject({ name: 'link-1', handle: 7, role: true, snd_settle_mode: 2, rcv_settle_mode: 0 });
    // rhea leaves a terminus as its described list
    const source = (f.performative.source as unknown as { value: { value: unknown }[] }).value.map((v) => v.value);
    expect(source.slice(0, 3)).toEqual(['/queues/q', 2, 'never']);
  });

  it('reads the performatives rhea writes, transfer payload after them', () => {
    const payload = rheaMessage.encode({ body: 'x' });
    const frame = rheaFrames.write_frame(rheaFrames.amqp_frame(1, rheaFrames.transfer({ handle: 2, delivery_id: 9, delivery_tag: Buffer.from('t'), message_format: 0, settled: false, more: false }), payload));
    const out: { channel: number; body: Buffer }[] = [];
    const reader = new FrameReader({ header: () => undefined, frame: (_t, channel, body) => out.push({ channel, body }) }, 65536);
    reader.expectHeader = false;
    reader.push(frame);
    const { performative, payload: p } = decodeFrameBody(out[0]!.body);
    expect(out[0]!.channel).toBe(1);
    expect(performative).toMatchObject({ $: 'transfer', handle: 2, deliveryId: 9, deliveryTag: Buffer.from('t'), messageFormat: 0, settled: false, more: false });
    expect(p).toEqual(payload);

    const open = rheaFrames.write_frame(rheaFrames.amqp_frame(0, rheaFrames.open({ container_id: 'c', max_frame_size: 4096, channel_max: 9, idle_time_out: 30000 })));
    reader.push(open);
    expect(decodeFrameBody(out[1]!.body).performative).toMatchObject({ $: 'open', containerId: 'c', maxFrameSize: 4096, channelMax: 9, idleTimeOut: 30000 });
  });

  it('checks mandatory fields', () => {
    const e = new Encoder();
    writeComposite(e, { $: 'attach', name: 'n' });
    expect(() => decodeFrameBody(e.take())).toThrow(/attach is missing its mandatory field handle/);
  });

  it('splits headers and frames across any chunking, and answers heartbeats as empty bodies', () => {
    const e = new Encoder();
    writeFrame(e, FRAME_AMQP, 0, { $: 'close' });
    const stream = Buffer.concat([HEADER_AMQP, hex('0000000802000000'), e.take()]);
    for (const step of [1, 3, 7, stream.length]) {
      const events: string[] = [];
      const reader = new FrameReader({ header: (h) => events.push(`header ${h.toString('hex')}`), frame: (_t, ch, body) => events.push(`frame ${ch} ${body.length}`) }, 512);
      for (let i = 0; i < stream.length; i += step) reader.push(stream.subarray(i, i + step));
      expect(events).toEqual([`header ${HEADER_AMQP.toString('hex')}`, 'frame 0 0', 'frame 0 4']);
    }
  });

  it('refuses a frame over max-frame-size from its first four bytes, before buffering it', () => {
    const reader = new FrameReader({ header: () => undefined, frame: () => undefined }, 512);
    reader.expectHeader = false;
    let err: unknown;
    try {
      reader.push(hex('00100000')); // 1 MiB announced, nothing else sent
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Amqp10Error);
    expect((err as Amqp10Error).condition).toBe('amqp:connection:framing-error');
    expect((err as Amqp10Error).description).toBe('frame size (1048576 bytes) > maximum frame size (512 bytes)');
  });

  it('refuses malformed frame headers with RabbitMQ 4\'s texts', () => {
    const cases: [string, string][] = [
      ['00000004', 'frame size (4 bytes) < minimum frame size (8 bytes)'],
      ['0000000801000000', 'data offset (1) < minimum data offset (2)'],
      ['0000000803000000', 'data offset (12 bytes) > frame size (8 bytes)'],
      ['0000000802010000', 'unexpected frame type 1 in amqp mode (expected 0)'],
    ];
    for (const [bytes, text] of cases) {
      const reader = new FrameReader({ header: () => undefined, frame: () => undefined }, 512);
      reader.expectHeader = false;
      expect(() => reader.push(hex(bytes))).toThrow(text);
    }
  });

  it('the SASL header is the SASL protocol id', () => {
    expect(HEADER_SASL.toString('latin1', 0, 4)).toBe('AMQP');
    expect([...HEADER_SASL.subarray(4)]).toEqual([3, 1, 0, 0]);
  });
});
