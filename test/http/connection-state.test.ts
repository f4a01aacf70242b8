import amqplib, { type ChannelModel } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { amqpUrl } from '../helpers/amqp.js';
import { getJson } from '../helpers/management.js';

/**
 * A connection's `state` in the management API under back-pressure, as rabbit_reader reports
 * it (the `state` info item). The store's credit flow (`flow`) is in
 * test/persistence/store-flow.test.ts; this is the resource alarm's side.
 */

const broker = useBroker();
const conns: ChannelModel[] = [];
afterAll(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
});

async function open(name: string): Promise<ChannelModel> {
  const c = await amqplib.connect(amqpUrl(broker()), { clientProperties: { connection_name: name } });
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}

async function states(): Promise<Record<string, string>> {
  const all = await getJson<{ user_provided_name: string | null; state: string }[]>(broker(), '/api/connections');
  const out: Record<string, string> = {};
  for (const c of all) if (c.user_provided_name) out[c.user_provided_name] = c.state;
  return out;
}

describe('connection state under the resource alarm', () => {
  it('blocking for every connection once the alarm is on, blocked once it publishes, running after (RabbitMQ 3.10.8)', async () => {
    // RabbitMQ 3.10.8 (rabbitmqctl list_connections client_properties state, memory alarm set with
    // set_vm_memory_high_watermark absolute 1): pub=running cons=running; alarm on: pub=blocking
    // cons=blocking; pub publishes: pub=blocked cons=blocking; alarm cleared: pub=running cons=running
    const pub = await (await open('pub')).createChannel();
    const cons = await (await open('cons')).createChannel();
    await cons.assertQueue('state-probe', { durable: false });
    await cons.consume('state-probe', () => undefined);
    expect(await states()).toMatchObject({ pub: 'running', cons: 'running' });

    const core = broker().core;
    core.alarms.setMemory(true);
    expect(await states()).toMatchObject({ pub: 'blocking', cons: 'blocking' });

    const read = new Promise<void>((resolve) => core.once('published', () => resolve()));
    pub.sendToQueue('state-probe', Buffer.from('x'));
    await read;
    expect(await states()).toMatchObject({ pub: 'blocked', cons: 'blocking' });

    core.alarms.setMemory(false);
    expect(await states()).toMatchObject({ pub: 'running', cons: 'running' });
  });
});
