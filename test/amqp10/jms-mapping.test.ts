import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { jmsClasspath, jmsUnavailable } from '../helpers/jms.js';
import { stompitConnect, stompitDisconnect, stompitSubscribe } from '../helpers/stomp.js';

// The JMS mapping of ActiveMQ's AMQP transport (JMSMappingInboundTransformer /
// JMSMappingOutboundTransformer in activemq-amqp, which Qpid JMS speaks): JMS headers ⇄ the
// AMQP 1.0 header, properties and x-opt-jms-* annotations, so one message crosses AMQP 1.0,
// OpenWire (the ActiveMQ JMS client) and STOMP with its priority, time to live, persistence,
// correlation id, JMSType (subject), reply-to (with x-opt-jms-reply-to) and group
// (JMSXGroupID / JMSXGroupSeq ⇄ group-id / group-sequence).
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
    expect(m.message_annotations).toMatchObject({ 'x-opt-jms-msg-type': 5, 'x-opt-jms-dest': 0, 'x-opt-jms-reply-to': 0 });
    expect(m.application_properties).toEqual({ origin: 'jms', n: 42 });
    const b = bytes!.message;
    expect(b.message_annotations).toMatchObject({ 'x-opt-jms-msg-type': 3 });
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
});
