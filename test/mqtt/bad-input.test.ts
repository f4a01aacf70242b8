import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';
import { useBroker } from '../helpers/broker.js';
import { inbox, mqttConnect, mqttPort, subscribe } from '../helpers/mqtt.js';
import { Raw } from '../helpers/mqtt-raw.js';

/** what the broker logs at error level: bad input goes the protocol's error path, never an internal error */
const errors: string[] = [];
const broker = useBroker({ logger: createLogger('error', (line) => errors.push(line)) });

afterEach(() => {
  expect(errors.splice(0)).toEqual([]);
});

/** another client is unaffected: it still publishes and receives */
async function othersCarryOn(tag: string): Promise<void> {
  const c = await mqttConnect(broker(), { clientId: `other-${tag}` });
  const box = inbox(c);
  await subscribe(c, `carry/${tag}`, 1);
  await c.publishAsync(`carry/${tag}`, 'still here', { qos: 1 });
  expect((await box.next()).payload.toString()).toBe('still here');
  await c.endAsync();
}

/** a PUBLISH fixed header declaring `length` bytes (the variable-length encoding of §2.2.3) */
function publishHeader(length: number): Buffer {
  const bytes = [0x30];
  let n = length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

describe('MQTT bad input closes only that client', () => {
  for (const version of [4, 5] as const) {
    it(`a PUBLISH declaring 256 MiB (MQTT ${version === 4 ? '3.1.1' : '5'}) is refused at its fixed header, without buffering`, async () => {
      const port = mqttPort(broker());
      const r = await Raw.connected(port, version, `huge-${version}`);
      global.gc?.();
      const before = process.memoryUsage().rss;
      // the largest remaining length MQTT can encode (256 MiB - 1), the start of a topic,
      // then a steady stream of body bytes
      r.socket.write(Buffer.concat([publishHeader(256 * 1024 * 1024 - 1), Buffer.from([0, 3, 0x61, 0x2f, 0x62])]));
      const chunk = Buffer.alloc(64 * 1024);
      const pump = setInterval(() => r.socket.writable && r.socket.write(chunk), 1);
      try {
        if (version === 5) {
          const d = await r.next();
          expect(d).toMatchObject({ cmd: 'disconnect', reasonCode: 0x95 });
        }
        await r.closed;
      } finally {
        clearInterval(pump);
      }
      const grown = process.memoryUsage().rss - before;
      expect(grown).toBeLessThan(5 * 1024 * 1024);
      await othersCarryOn(`huge${version}`);
    });
  }

  it('garbage instead of a CONNECT', async () => {
    const r = await Raw.open(mqttPort(broker()));
    r.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await r.closed;
    expect(r.packets).toEqual([]);
    await othersCarryOn('garbage');
  });

  it('a packet before CONNECT', async () => {
    const r = await Raw.open(mqttPort(broker()));
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    await r.closed;
    expect(r.packets).toEqual([]);
    await othersCarryOn('before-connect');
  });

  // each at both versions: MQTT 5 gets the spec's DISCONNECT reason first, 3.1.1 is closed
  // (review-s11-3: each was tested at one version only)
  for (const version of [4, 5] as const) {
    const name = version === 4 ? '3.1.1' : '5';

    it(`a remaining length running past four bytes (MQTT ${name}${version === 5 ? ': DISCONNECT 0x81' : ''})`, async () => {
      const r = await Raw.connected(mqttPort(broker()), version, `bad-length-${version}`);
      r.socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
      if (version === 5) expect(await r.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x81 });
      await r.closed;
      await othersCarryOn(`bad-length-${version}`);
    });

    it(`a truncated packet, a topic length past the end of the PUBLISH (MQTT ${name}${version === 5 ? ': DISCONNECT 0x81 malformed packet' : ''})`, async () => {
      const r = await Raw.connected(mqttPort(broker()), version, `truncated-${version}`);
      r.socket.write(Buffer.from([0x30, 0x04, 0x00, 0x10, 0x61, 0x62]));
      if (version === 5) expect(await r.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x81 });
      await r.closed;
      await othersCarryOn(`truncated-${version}`);
    });

    it(`a second CONNECT (MQTT ${name}${version === 5 ? ': DISCONNECT 0x82 protocol error' : ': closed, MQTT-3.1.0-2'})`, async () => {
      const r = await Raw.connected(mqttPort(broker()), version, `twice-${version}`);
      r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: `twice-${version}`, clean: true, keepalive: 60 }, version);
      if (version === 5) expect(await r.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
      await r.closed;
      await othersCarryOn(`twice-${version}`);
    });
  }

  it('MQTT 5: an AUTH packet after a CONNECT without an authentication method is a protocol error, DISCONNECT 0x82 (Mosquitto 2.0.11 closes)', async () => {
    // §4.12: AUTH only continues an exchange the CONNECT began with an Authentication Method;
    // 0x8C (bad authentication method) is a CONNACK code, not one a DISCONNECT may carry (§3.14.2.1)
    const r = await Raw.connected(mqttPort(broker()), 5, 'auth-after');
    r.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'SCRAM-SHA-1' } }, 5);
    // raced with the close: a DISCONNECT the parser cannot read (the old 0x8C) shows as 'closed'
    expect(await Promise.race([r.next(), r.closed.then(() => 'closed')])).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    await r.closed;
    await othersCarryOn('auth-after');
  });

  for (const [property, value] of [['receiveMaximum', 0], ['maximumPacketSize', 0]] as const) {
    it(`MQTT 5: CONNECT with ${property} 0 is a protocol error: CONNACK 0x82, then closed (§3.1.2.11; Mosquitto 2.0.11 closes)`, async () => {
      const r = await Raw.open(mqttPort(broker()), 5);
      r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `zero-${property}`, clean: true, keepalive: 60, username: 'guest', password: Buffer.from('guest'), properties: { [property]: value } }, 5);
      expect(await r.next()).toMatchObject({ cmd: 'connack', reasonCode: 0x82 });
      await r.closed;
      await othersCarryOn(`zero-${property}`);
    });
  }

  it('MQTT 5: a property included twice in a PUBLISH (Response Topic) is a protocol error, DISCONNECT 0x82', async () => {
    // found by the socket fuzz (session 9): mqtt-packet makes the repeated property an array, which
    // the adapter took for a topic (an internal error, 0x83); MQTT 5 2.2.2.2 says Protocol Error
    const r = await Raw.connected(mqttPort(broker()), 5, 'dup-prop');
    const str = (t: string) => Buffer.concat([Buffer.from([0, t.length]), Buffer.from(t)]);
    const props = Buffer.concat([Buffer.from([0x08]), str('r/a'), Buffer.from([0x08]), str('r/b')]);
    const body = Buffer.concat([str('t/x'), Buffer.from([props.length]), props, Buffer.from('hi')]);
    r.socket.write(Buffer.concat([Buffer.from([0x30, body.length]), body]));
    expect(await r.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    await r.closed;
    await othersCarryOn('dupprop');
  });

  for (const version of [4, 5] as const) {
    for (const [kind, type] of [
      ['SUBSCRIBE', 0x82],
      ['UNSUBSCRIBE', 0xa2],
    ] as const) {
      it(`a ${kind} with no topic filter (MQTT ${version === 4 ? '3.1.1: the connection closed' : '5: DISCONNECT 0x82 protocol error'})`, async () => {
        // found by the socket fuzz (session 10): the empty list reached the SUBACK / UNSUBACK writer,
        // which threw (an internal error, 0x83); MQTT 3.1.1 answered an empty UNSUBSCRIBE. [MQTT-3.8.3-3],
        // [MQTT-3.10.3-2]: a protocol violation; Mosquitto 2.0 closes both (MQTT 5: with 0x81)
        const r = await Raw.connected(mqttPort(broker()), version, `empty-${kind}-${version}`);
        // the packet identifier (and MQTT 5's empty properties), then no payload
        const body = version === 5 ? [0x00, 0x07, 0x00] : [0x00, 0x07];
        r.socket.write(Buffer.from([type, body.length, ...body]));
        // the first thing the broker does: MQTT 5 a DISCONNECT, 3.1.1 close (no SUBACK / UNSUBACK)
        const first = await Promise.race([r.closed.then(() => 'closed' as const), r.next()]);
        if (version === 5) expect(first).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
        else expect(first).toBe('closed');
        await r.closed;
        expect(r.packets).toEqual([]);
        await othersCarryOn(`empty${kind}${version}`);
      });
    }

    it(`invalid UTF-8 in a PUBLISH topic (MQTT ${version === 4 ? '3.1.1' : '5: DISCONNECT 0x81 malformed packet'})`, async () => {
      const r = await Raw.connected(mqttPort(broker()), version, `utf8-${version}`);
      const topic = Buffer.from([0x61, 0x2f, 0xc3, 0x28]);
      const props = version === 5 ? [0x00] : [];
      const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from(props), Buffer.from('x')]);
      r.socket.write(Buffer.concat([Buffer.from([0x30, body.length]), body]));
      if (version === 5) expect(await r.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x81 });
      await r.closed;
      await othersCarryOn(`utf8${version}`);
    });
  }
});

