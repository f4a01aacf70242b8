import { describe, expect, it } from 'vitest';
import { Alarms, PUBLISH_TURN_LIMIT, PublisherFlow, type FlowControlled } from '../../src/core/alarm.js';
import { RawStomp } from '../helpers/stomp.js';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';

// One publisher at full speed must not hold the event loop for everyone else: libuv reads a
// busy socket up to 32 × 64 KiB per turn, tens of thousands of small publishes. Past
// PUBLISH_TURN_LIMIT publishes in one turn a connection's reading is held until the next
// (measured: bench/big-queue-blocking.ts 'publish (AMQP client)', 1M; stall 285–458 ms before,
// 48–62 ms after).

function recorder(): FlowControlled & { events: string[] } {
  const events: string[] = [];
  return { events, pauseReading: () => events.push('pause'), resumeReading: () => events.push('resume') };
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('a publisher gets PUBLISH_TURN_LIMIT publishes a turn of the event loop', () => {
  it('its reading is held at the limit and resumed at the next turn; the count starts again', async () => {
    const r = recorder();
    const flow = new PublisherFlow(new Alarms(), r);
    for (let i = 1; i < PUBLISH_TURN_LIMIT; i++) flow.published();
    expect(r.events).toEqual([]);
    flow.published();
    expect(r.events).toEqual(['pause']);
    await nextTurn();
    expect(r.events).toEqual(['pause', 'resume']);
    for (let i = 1; i < PUBLISH_TURN_LIMIT; i++) flow.published();
    await nextTurn();
    // under the limit in that turn: never held
    expect(r.events).toEqual(['pause', 'resume']);
  });

  it('composes with the alarm and with durability holds: reading resumes once nothing holds it', async () => {
    const alarms = new Alarms();
    const r = recorder();
    const flow = new PublisherFlow(alarms, r);
    flow.hold(true); // a durability backlog
    for (let i = 0; i < PUBLISH_TURN_LIMIT; i++) flow.published();
    await nextTurn();
    expect(r.events).toEqual(['pause']);
    flow.hold(false);
    expect(r.events).toEqual(['pause', 'resume']);
    // the alarm on: the next publish stops the reading; the turn's end does not resume it
    alarms.setMemory(true);
    for (let i = 0; i < PUBLISH_TURN_LIMIT; i++) flow.published();
    await nextTurn();
    expect(r.events).toEqual(['pause', 'resume', 'pause']);
    alarms.setMemory(false);
    expect(r.events).toEqual(['pause', 'resume', 'pause', 'resume']);
    flow.close();
  });

  const broker = useBroker();

  it('AMQP 0-9-1: a burst of 20 000 publishes read over several turns arrives whole and in order', async () => {
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    await ch.assertQueue('turn.amqp');
    // amqplib writes them out in large chunks: the broker reads far more than the limit per readiness
    for (let i = 0; i < 20_000; i++) ch.sendToQueue('turn.amqp', Buffer.from(String(i)));
    // the broker reads a connection's frames in order: this answer comes after every publish before it
    expect((await ch.checkQueue('turn.amqp')).messageCount).toBe(20_000);
    const bodies = broker().queue('turn.amqp').messages().map((m) => Number(m.body.toString()));
    expect(bodies).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    await conn.close();
  });

  it('STOMP: a burst of 5 000 SENDs in one write arrives whole and in order; the receipt after them comes', async () => {
    const { client } = await RawStomp.connected(broker());
    const frames: Buffer[] = [];
    for (let i = 0; i < 5000; i++) frames.push(Buffer.from(`SEND\ndestination:/queue/turn.stomp\n\n${i}\0`));
    frames.push(Buffer.from('SEND\ndestination:/queue/turn.stomp\nreceipt:last\n\nlast\0'));
    client.socket.write(Buffer.concat(frames));
    await client.receipt('last');
    const bodies = broker().queue('turn.stomp').messages().map((m) => m.body.toString());
    expect(bodies).toEqual([...Array.from({ length: 5000 }, (_, i) => String(i)), 'last']);
    client.close();
  });
});
