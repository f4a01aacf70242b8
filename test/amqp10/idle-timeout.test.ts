import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { RawClient } from '../helpers/amqp10-raw.js';
import type { Composite } from '../../src/protocols/amqp10/codec/index.js';

// A peer silent past our idle timeout is closed with amqp:resource-limit-exceeded (part
// 2.4.5), in each engine's words: ActiveMQ through proton-j ("local-idle-timeout expired",
// after its whole transport.wireFormat.idleTimeout, half of it announced); RabbitMQ 4's
// rabbit_amqp_reader ("no frame received from client within idle timeout threshold": its
// rabbit_heartbeat receiver samples the bytes received every `heartbeat` from {0, 0} and closes at
// the second silent sample in a row, so after 2 to 3 heartbeats of silence; half a heartbeat
// announced). Short timeouts here keep it quick.
const activemq = useBroker({ engine: 'activemq', amqp10: { idleTimeoutMs: 1000 }, ports: { stomp: false, stomps: false, mqtt: false, mqtts: false, wss: false, console: false, openwire: false, openwireSsl: false } });
const rabbit = useBroker({ engine: 'rabbitmq', amqp: { heartbeat: 1 }, ports: { stomp: false, stomps: false, mqtt: false, mqtts: false, amqps: false, http: false, https: false } });

const announced = (c: RawClient) => (c.got.find((g) => 'performative' in g && g.performative.$ === 'open') as { performative: Composite }).performative['idleTimeOut'];

describe('AMQP 1.0 idle timeout', () => {
  it('ActiveMQ profile: announces half its idle timeout and closes a silent peer with "local-idle-timeout expired"', async () => {
    const c = await RawClient.open(activemq().ports['amqp10']!);
    expect(announced(c)).toBe(500);
    expect(await c.error('close')).toEqual({ $: 'error', condition: 'amqp:resource-limit-exceeded', description: 'local-idle-timeout expired' });
    await c.closed();
  });

  it('RabbitMQ profile: announces half the heartbeat and closes a peer silent since its open at the third sample (rabbit_heartbeat), with RabbitMQ 4\'s text', async () => {
    const c = await RawClient.open(rabbit().ports['amqp']!);
    const opened = Date.now();
    expect(announced(c)).toBe(500);
    expect(await c.error('close')).toEqual({ $: 'error', condition: 'amqp:resource-limit-exceeded', description: 'no frame received from client within idle timeout threshold' });
    // samples at 1 s (bytes since {0, 0}: the handshake), 2 s (silent), 3 s (silent again: close);
    // never before 2 heartbeats of silence
    expect(Date.now() - opened).toBeGreaterThanOrEqual(2900);
    await c.closed();
  });

  it('a client that sends empty frames at half our announced timeout (rhea does) stays open past it', async () => {
    const conn = await rheaConnect(activemq().ports['amqp10']!);
    const closed = new Promise<string>((resolve) => conn.once('connection_close', () => resolve('closed')));
    // several of our idle timeouts pass with nothing but rhea's empty frames
    const outcome = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('open'), 2500))]);
    expect(outcome).toBe('open');
    const s = await openSender(conn, 'queue://a10-idle-alive');
    expect((await sendAwait(s, { body: 'alive' })).outcome).toBe('accepted');
    const rx = await openReceiver(conn, 'queue://a10-idle-alive');
    expect((await receiveN(rx, 1))[0]!.message.body).toBe('alive');
    await rheaClose(conn);
  });
});
