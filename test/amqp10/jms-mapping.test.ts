import { spawn } from 'node:child_process';
import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { jmsClasspath, jmsUnavailable } from '../helpers/jms.js';
import { protonMissing, runPythonScript } from '../helpers/python.js';
import { stompitConnect, stompitDisconnect, stompitSubscribe } from '../helpers/stomp.js';

// The JMS mapping of ActiveMQ's AMQP transport (JMSMappingInboundTransformer /
// JMSMappingOutboundTransformer in activemq-amqp, which Qpid JMS speaks): JMS headers ⇄ the
// AMQP 1.0 header, properties and x-opt-jms-* annotations, so one message crosses AMQP 1.0,
// OpenWire (the ActiveMQ JMS client) and STOMP with its priority, time to live, persistence,
// correlation id, JMSType (subject), reply-to (with x-opt-jms-reply-to) and group
// (JMSXGroupID / JMSXGroupSeq ⇄ group-id / group-sequence); and the bodies as ActiveMQ's
// transformer converts them (JMSMappingInboundTransformer.createMessage,
// JMSMappingOutboundTransformer.convertBody, ActiveMQ 5.19): MapMessage ⇄ amqp-value map,
// StreamMessage ⇄ amqp-value list / amqp-sequence, ObjectMessage ⇄ data with content-type
// application/x-java-serialized-object, with the JMS_AMQP_* properties ActiveMQ sets.
const broker = useBroker({ engine: 'activemq', ports: { mqtt: false, mqtts: false, wss: false, console: false, openwireSsl: false, amqp10s: false, stomps: false } });
const amqp = () => broker().ports['amqp10']!;
const openwire = () => `tcp://127.0.0.1:${broker().ports['openwire']!}`;

const unavailable = jmsUnavailable();

/** the JMS helper's output lines (`GOT k=v …`) as records */
function jms(args: string[]): Promise<Record<string, string>[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', jmsClasspath('Amqp10JmsHeaders'), 'Amqp10JmsHeaders', ...args]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`JMS helper exited ${code}: ${err}`));
      resolve(
        out
          .split('\n')
          .filter((l) => l.startsWith('GOT '))
          .map((l) => Object.fromEntries(l.slice(4).split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))),
      );
    });
  });
}

describe.skipIf(unavailable !== undefined)(`JMS headers across AMQP 1.0 and OpenWire${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('JMS (OpenWire) → AMQP 1.0: the TextMessage as an amqp-value string with every header mapped; the BytesMessage as data', async () => {
    const q = 'a10-jms-out';
    await jms(['send', openwire(), q]);
    const conn = await rheaConnect(amqp());
    const rx = await openReceiver(conn, `queue://${q}`);
    const [text, bytes] = await receiveN(rx, 2, 10_000);
    const m = text!.message;
    expect(m.body).toBe('jms text');
    expect(m.durable).toBe(true);
    expect(m.priority).toBe(7);
    expect(m.ttl).toBeGreaterThan(0);
    expect(m.ttl).toBeLessThanOrEqual(60000);
    expect((m.absolute_expiry_time as Date).getTime()).toBeGreaterThan(Date.now());
    expect(m.correlation_id).toBe('corr-1');
    expect(m.subject).toBe('jms-type');
    expect(m.reply_to).toBe('queue://jms.replies');
    expect(m.group_id).toBe('g1');
    expect(m.group_sequence).toBe(3);
    expect(String(m.message_id)).toMatch(/^ID:/);
    expect(m.to).toBe(`queue://${q}`);
    // ActiveMQ 5.x annotates the destination types only (the body says the JMS type)
    expect(m.message_annotations).toEqual({ 'x-opt-jms-dest': 0, 'x-opt-jms-reply-to': 0 });
    expect(m.application_properties).toEqual({ origin: 'jms', n: 42 });
    const b = bytes!.message;
    expect(b.message_annotations).toEqual({ 'x-opt-jms-dest': 0 });
    expect(Buffer.from((b.body as { content: Buffer }).content)).toEqual(Buffer.from([1, 2, 3]));
    expect(b.durable ?? false).toBe(false);
    expect(b.priority).toBe(2);
    expect(b.ttl).toBeUndefined();
    await rheaClose(conn);
  });

  it('AMQP 1.0 → JMS (OpenWire) and STOMP: header, properties and annotations become the JMS headers', async () => {
    const q = 'a10-jms-in';
    const conn = await rheaConnect(amqp());
    const s = await openSender(conn, `queue://${q}`);
    const message = {
      body: 'amqp-text',
      durable: true,
      priority: 8,
      ttl: 30000,
      correlation_id: 'corr-2',
      subject: 'amqp-type',
      reply_to: 'topic://amqp.replies',
      group_id: 'g2',
      group_sequence: 5,
      application_properties: { k: 'v' },
      message_annotations: { 'x-opt-jms-msg-type': 5, 'x-opt-jms-reply-to': 1 },
    };
    expect((await sendAwait(s, message)).outcome).toBe('accepted');
    expect((await sendAwait(s, { ...message, body: 'for stomp' })).outcome).toBe('accepted');
    const [got] = await jms(['receive', openwire(), q, '1']);
    expect(got).toMatchObject({
      class: 'text',
      body: 'amqp-text',
      persistent: 'true',
      priority: '8',
      ttlLeft: 'positive',
      correlation: 'corr-2',
      type: 'amqp-type',
      replyTo: 'topic://amqp.replies',
      group: 'g2',
      groupSeq: '5',
      'prop.k': 'v',
    });
    // the same message to ActiveMQ's STOMP (its headers for the JMS ones)
    const stomp = await stompitConnect(broker());
    const sub = stompitSubscribe(stomp, { destination: `/queue/${q}`, ack: 'auto' });
    const st = await sub.next();
    expect(st.body).toBe('for stomp');
    expect(st.headers).toMatchObject({ persistent: 'true', priority: '8', 'correlation-id': 'corr-2', type: 'amqp-type', 'reply-to': '/topic/amqp.replies', JMSXGroupID: 'g2', k: 'v' });
    expect(Number(st.headers['expires'])).toBeGreaterThan(Date.now());
    await stompitDisconnect(stomp);
    await rheaClose(conn);
  });

  it('JMS Map, Stream and Object bodies (OpenWire) → AMQP 1.0: amqp-value map, amqp-value list, data with the serialized-object content type', async () => {
    const q = 'a10-jms-bodies-out';
    await jms(['bodies', openwire(), q]);
    const conn = await rheaConnect(amqp());
    const rx = await openReceiver(conn, `queue://${q}`);
    const [map, stream, object, plain] = await receiveN(rx, 4, 10_000);
    // (rhea gives a char as its code point)
    expect(map!.message.body).toEqual({ s: 'text', i: 42, l: 1234567890123, sh: 7, by: -3, d: 2.5, f: 1.5, b: true, c: 120, bin: Buffer.from([1, 2, 3]), nil: null });
    expect(stream!.message.body).toEqual(['one', 2, 3, false, 4.5, 122, 6, 7, 8.5, Buffer.from([9])]);
    const o = object!.message;
    expect(o.content_type).toBe('application/x-java-serialized-object');
    expect((o.body as { typecode: number }).typecode).toBe(0x75);
    // java.io.ObjectOutputStream's stream magic
    expect(Buffer.from((o.body as { content: Buffer }).content).subarray(0, 4).toString('hex')).toBe('aced0005');
    // a Message without a body: no body section, its properties kept
    expect(plain!.message.body).toBeUndefined();
    expect(plain!.message.application_properties).toEqual({ kind: 'plain' });
    for (const m of [map, stream, object, plain]) expect(m!.message.message_annotations).toEqual({ 'x-opt-jms-dest': 0 });
    await rheaClose(conn);
  });

  it.skipIf(protonMissing !== undefined)(`the same bodies read by python-qpid-proton carry the exact AMQP types of the Java values${protonMissing ? ` (skipped: ${protonMissing})` : ''}`, async () => {
    const q = 'a10-jms-bodies-types';
    await jms(['bodies', openwire(), q]);
    type T = [string, unknown];
    const out = JSON.parse(await runPythonScript('amqp10-proton-types.py', [`amqp://guest:guest@127.0.0.1:${amqp()}`, q, '4'])) as {
      received: { inferred: boolean; body: T; content_type: string | null }[];
    };
    const [map, stream, object, plain] = out.received;
    expect(map!.inferred).toBe(false);
    const entries = Object.fromEntries((map!.body[1] as [T, T][]).map(([k, v]) => [k[1], v]));
    // Java int → int32, long → long (proton's int), short, byte, double → float, float → float32, char, byte[] → binary
    expect(entries).toEqual({
      s: ['str', 'text'],
      i: ['int32', 42],
      l: ['int', 1234567890123],
      sh: ['short', 7],
      by: ['byte', -3],
      d: ['float', 2.5],
      f: ['float32', 1.5],
      b: ['bool', true],
      c: ['char', 'x'],
      bin: ['binary', '010203'],
      nil: ['null', null],
    });
    expect(stream!.inferred).toBe(false);
    expect(stream!.body).toEqual(['list', [['str', 'one'], ['int32', 2], ['int', 3], ['bool', false], ['float', 4.5], ['char', 'z'], ['short', 6], ['byte', 7], ['float32', 8.5], ['binary', '09']]]);
    expect(object!.inferred).toBe(true);
    expect(object!.content_type).toBe('application/x-java-serialized-object');
    expect(plain!.body).toEqual(['null', null]);
  });

  it('AMQP 1.0 bodies → JMS (OpenWire): map → MapMessage, list and amqp-sequence → StreamMessage with the Java types, serialized data → ObjectMessage, with the JMS_AMQP_* properties', async () => {
    const q = 'a10-jms-bodies-in';
    const t = rhea.types;
    const conn = await rheaConnect(amqp());
    const s = await openSender(conn, `queue://${q}`);
    await sendAwait(s, {
      body: t.wrap_map({ s: 'text', i: t.wrap_int(42), l: t.wrap_long(1234567890123), sh: t.wrap_short(7), by: t.wrap_byte(-3), d: t.wrap_double(2.5), f: t.wrap_float(1.5), b: true, c: t.wrap_char(0x78), bin: Buffer.from([1, 2, 3]) }),
      message_annotations: { 'x-opt-jms-msg-type': t.wrap_byte(2) },
      header: undefined,
    } as never);
    await sendAwait(s, { body: t.wrap_list(['one', t.wrap_int(2), t.wrap_long(3), false]) } as never);
    await sendAwait(s, { body: rhea.message.sequence_section(['seq', t.wrap_short(5)]) } as never);
    // the serialized form of java.util.ArrayList [a, b] (as the JMS client wrote it in the outbound test)
    const serialized = Buffer.from('aced0005737200136a6176612e7574696c2e41727261794c6973747881d21d99c7619d03000149000473697a6578700000000277040000000274000161740001627879', 'hex');
    await sendAwait(s, { body: rhea.message.data_section(serialized), content_type: 'application/x-java-serialized-object' });
    await sendAwait(s, { body: t.wrap_binary(Buffer.from([4, 5])) } as never);
    await sendAwait(s, { body: rhea.message.data_section(Buffer.from('data-text')), content_type: 'text/plain;charset=utf-8', reply_to_group_id: 'rg' } as never);
    // a map JMS cannot hold (a uint value): ActiveMQ's native fallback, a BytesMessage holding the AMQP encoding
    await sendAwait(s, { body: t.wrap_map({ u: t.wrap_uint(1) }) } as never);
    const got = await jms(['receive', openwire(), q, '7']);
    const [map, list, seq, object, binary, text, native] = got;
    expect(map).toMatchObject({
      class: 'map',
      'map.s': 'String:text',
      'map.i': 'Integer:42',
      'map.l': 'Long:1234567890123',
      'map.sh': 'Short:7',
      'map.by': 'Byte:-3',
      'map.d': 'Double:2.5',
      'map.f': 'Float:1.5',
      'map.b': 'Boolean:true',
      'map.c': 'Character:x',
      'map.bin': 'byte[]:010203',
      'prop.JMS_AMQP_ORIGINAL_ENCODING': '7',
      'prop.JMS_AMQP_MA_x-opt-jms-msg-type': '2',
    });
    expect(list).toMatchObject({ class: 'stream', 'item.0': 'String:one', 'item.1': 'Integer:2', 'item.2': 'Long:3', 'item.3': 'Boolean:false', 'prop.JMS_AMQP_ORIGINAL_ENCODING': '8' });
    expect(seq).toMatchObject({ class: 'stream', 'item.0': 'String:seq', 'item.1': 'Short:5', 'prop.JMS_AMQP_ORIGINAL_ENCODING': '3' });
    expect(object).toMatchObject({ class: 'object', body: 'ArrayList:[a,_b]', 'prop.JMS_AMQP_ContentType': 'application/x-java-serialized-object', 'prop.JMS_AMQP_ORIGINAL_ENCODING': '2' });
    expect(binary).toMatchObject({ class: 'bytes', body: '2', 'prop.JMS_AMQP_ORIGINAL_ENCODING': '6' });
    expect(text).toMatchObject({ class: 'text', body: 'data-text', 'prop.JMS_AMQP_ContentType': 'text/plain;charset=utf-8', 'prop.JMS_AMQP_ReplyToGroupID': 'rg', 'prop.JMS_AMQP_PROPERTIES': 'true' });
    expect(native).toMatchObject({ class: 'bytes', 'prop.JMS_AMQP_NATIVE': 'true' });
    expect(Number(native!.body)).toBeGreaterThan(10);
    await rheaClose(conn);
  });
});

describe('ActiveMQ\'s JMS transformer on the way back to AMQP 1.0', () => {
  it('a dead-lettered map message (no AMQP encoding kept) is written back from its JMS form: amqp-value map, content type, annotations from JMS_AMQP_MA_*', async () => {
    const q = 'a10-jms-dlq-roundtrip';
    const t = rhea.types;
    const conn = await rheaConnect(amqp());
    const s = await openSender(conn, `queue://${q}`);
    await sendAwait(s, {
      body: t.wrap_map({ k: 'v', n: t.wrap_long(5) }),
      durable: true,
      content_type: 'application/x-custom',
      message_annotations: { 'x-opt-jms-msg-type': t.wrap_byte(2), 'x-app': 'a' },
      application_properties: { p: 1 },
      message_id: 'roundtrip-1',
    } as never);
    const rx = await openReceiver(conn, { source: { address: `queue://${q}` }, autoaccept: false });
    const [got] = await receiveN(rx, 1);
    (got!.delivery as unknown as { reject(e?: object): void }).reject({ condition: 'app:no' });
    const dlq = await openReceiver(conn, 'queue://ActiveMQ.DLQ');
    const [dead] = await receiveN(dlq, 1, 10_000);
    const m = dead!.message;
    expect(m.message_id).toBe('roundtrip-1');
    expect(m.body).toEqual({ k: 'v', n: 5 });
    expect(m.content_type).toBe('application/x-custom');
    expect(m.durable).toBe(true);
    expect(m.message_annotations).toMatchObject({ 'x-opt-jms-msg-type': 2, 'x-app': 'a', 'x-opt-jms-dest': 0 });
    expect(m.application_properties).toMatchObject({ p: 1 });
    expect(Object.keys(m.application_properties ?? {}).filter((k) => k.startsWith('JMS_AMQP_'))).toEqual([]);
    await rheaClose(conn);
  });
});
