import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { protonMissing, runPythonScript } from '../helpers/python.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * What an AMQP 1.0 receiver of ActiveMQ.DLQ sees of a dead-lettered copy. Debian's ActiveMQ
 * 5.17 has no AMQP transport, so this follows its source (activemq-amqp
 * JMSMappingOutboundTransformer) applied to the copy ActiveMQ 5.17 makes, as its JMS and STOMP
 * clients showed it (/work/notes/s15-fidelity.md §3; DlqCountProbe.java, stomp-dlq-cases.mjs):
 * every copy has originalExpiration, a Long (0 when the message had no expiry), a persistent
 * copy without expiry (no ttl, no absolute-expiry-time), redeliveryCounter 0 (no
 * delivery-count), dlqDeliveryFailureCause when the broker gave a cause (expiry, a poison ack;
 * not a STOMP NACK), and its originalDestination as a field of the message, which the
 * transformer does not map: no `original-destination` application property. The old code
 * sent `original-destination` as an application property, a NACKed copy's originalExpiration as
 * a string, and none on a JMS poison copy.
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, amqp10: 0 } });
const amqpPort = () => broker().ports['amqp10']!;

/** a NACKed message (no expiry) and one that arrived expired, both persistent, on ActiveMQ.DLQ; the expired one's `expires` */
async function twoCopies(base: string): Promise<string> {
  const { client } = await RawStomp.connected(broker());
  client.useVersion('1.2');
  client.send('SEND', { destination: `/queue/${base}.n`, persistent: 'true', marker: 'nacked' }, 'n0');
  client.send('SUBSCRIBE', { destination: `/queue/${base}.n`, id: 's1', ack: 'client-individual' });
  const m = await client.frame('MESSAGE');
  client.send('NACK', { id: getHeader(m, 'ack')!, receipt: 'nacked' });
  await client.receipt('nacked');
  const expires = String(Date.now() - 1000);
  client.send('SEND', { destination: `/queue/${base}.e`, persistent: 'true', marker: 'expired', expires, receipt: 'sent' }, 'e0');
  await client.receipt('sent');
  client.close();
  return expires;
}

describe('ActiveMQ.DLQ copies read over AMQP 1.0 (ActiveMQ 5.17 by its transformer)', () => {
  it('originalExpiration and the cause as application properties, no original-destination, no expiry, no delivery-count', async () => {
    const expires = await twoCopies('a10dlq.view');
    const conn = await rheaConnect(amqpPort());
    const rx = await openReceiver(conn, 'ActiveMQ.DLQ');
    const [nacked, expired] = await receiveN(rx, 2);
    for (const r of [nacked!, expired!]) {
      const m = r.message;
      expect(m.durable).toBe(true);
      expect(m.ttl).toBeUndefined();
      expect(m.absolute_expiry_time).toBeUndefined();
      expect(m.delivery_count ?? 0).toBe(0);
      expect(m.to).toBe('queue://ActiveMQ.DLQ');
      expect(m.message_annotations).toEqual({ 'x-opt-jms-dest': 0 });
    }
    expect(nacked!.message.application_properties).toEqual({ marker: 'nacked', originalExpiration: 0 });
    expect(expired!.message.application_properties).toEqual({
      marker: 'expired',
      dlqDeliveryFailureCause: `java.lang.Throwable: Message Expired. Expiration:${expires}`,
      originalExpiration: Number(expires),
    });
    await rheaClose(conn);
  });

  it('an AMQP 1.0 message whose absolute-expiry-time is already past: its copy names that time, not the arrival', async () => {
    // as the STOMP `expires` case asked of ActiveMQ 5.17 (test/server/activemq-expiry-sweep.test.ts); the old code named the arrival
    const conn = await rheaConnect(amqpPort());
    const tx = await openSender(conn, 'a10dlq.past');
    const past = Date.now() - 1000;
    await sendAwait(tx, { body: 'late', durable: true, absolute_expiry_time: past, application_properties: { marker: 'past' } } as never);
    const rx = await openReceiver(conn, 'ActiveMQ.DLQ');
    const [copy] = await receiveN(rx, 1);
    expect(copy!.message.application_properties).toEqual({
      marker: 'past',
      dlqDeliveryFailureCause: `java.lang.Throwable: Message Expired. Expiration:${past}`,
      originalExpiration: past,
    });
    await rheaClose(conn);
  });

  it('an absolute-expiry-time before the epoch is no expiry: the message is delivered, in its turn', async () => {
    // activemq-amqp's inbound transformer sets JMSExpiration to it (the header ttl only counts when
    // that is 0) and ActiveMQ's Message.isExpired wants an expiration > 0 (source; Debian's 5.17 has
    // no AMQP transport to ask). The old code made it a TTL of 0: expired on arrival, dead-lettered.
    const conn = await rheaConnect(amqpPort());
    const tx = await openSender(conn, 'a10dlq.negative');
    await sendAwait(tx, { body: 'before-epoch', durable: true, absolute_expiry_time: -5000 } as never);
    await sendAwait(tx, { body: 'plain', durable: true } as never);
    const rx = await openReceiver(conn, 'a10dlq.negative');
    const got = await receiveN(rx, 2);
    expect(got.map((d) => d.message.body)).toEqual(['before-epoch', 'plain']);
    await rheaClose(conn);
  });

  it.skipIf(protonMissing !== undefined)(`originalExpiration is an AMQP long, read by python-qpid-proton${protonMissing ? ` (skipped: ${protonMissing})` : ''}`, async () => {
    // a fresh DLQ: this file's first test took its copies
    await twoCopies('a10dlq.types');
    type T = [string, unknown];
    const out = JSON.parse(await runPythonScript('amqp10-proton-types.py', [`amqp://guest:guest@127.0.0.1:${amqpPort()}`, 'ActiveMQ.DLQ', '2'])) as {
      received: { properties: Record<string, T> }[];
    };
    // proton's int is an AMQP long (int32 an int)
    expect(out.received.map((r) => r.properties['originalExpiration']![0])).toEqual(['int', 'int']);
    expect(out.received[0]!.properties['originalExpiration']).toEqual(['int', 0]);
    expect(out.received.map((r) => Object.keys(r.properties).sort())).toEqual([
      ['marker', 'originalExpiration'],
      ['dlqDeliveryFailureCause', 'marker', 'originalExpiration'],
    ]);
  });
});
