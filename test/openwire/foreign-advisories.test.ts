import amqplib from 'amqplib';
import * as stompit from 'stompit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { openReceiver, openSender, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { amqpUrl } from '../helpers/amqp.js';
import { jmsUnavailable, runJms, type JmsRun } from '../helpers/jms.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { stompitConnect, stompitDisconnect, stompitSend } from '../helpers/stomp.js';

/**
 * ActiveMQ fires its consumer advisories for every transport's subscriptions, not only
 * OpenWire's: a JMS advisory listener hears of a STOMP SUBSCRIBE, an AMQP 1.0 receiver or an
 * MQTT subscription like of a JMS consumer, and of an AMQP 1.0 sender link with a target as a
 * producer. Asked of Debian's ActiveMQ 5.17.2 with STOMP and MQTT connectors (same actions,
 * same advisory listener; bench/activemq-observed.md, "Advisories of other transports"):
 * - STOMP SUBSCRIBE /queue/q → ConsumerInfo on ActiveMQ.Advisory.Consumer.Queue.q (prefetch
 *   1000, the selector), consumerCount 1; /topic/t → Consumer.Topic.t (prefetch 32767);
 *   UNSUBSCRIBE / DISCONNECT → RemoveInfo, consumerCount 0;
 * - MQTT subscribe a/t then a/# → Consumer.Topic.a.t (count 1), Consumer.Topic.a.> (count 2:
 *   the wildcard counts on the topic it takes); unsubscribe a/t → RemoveInfo count 1; the
 *   session's end → RemoveInfo on a.>, count 0;
 * - STOMP SEND and MQTT PUBLISH fire no producer advisory (their producers are anonymous).
 * AMQP 1.0 (no activemq-amqp in Debian) follows ActiveMQ's AMQP transport: a receiver link is
 * a consumer, a sender link with a target a producer on it, an anonymous sender none.
 */
const unavailable = jmsUnavailable();
const openwireUrl = (b: LocalMQ) => b.urls.openwire!.replace('localhost', '127.0.0.1');

/** `advisory <topic> <type> …` lines, per advisory topic in arrival order */
function byTopic(run: JmsRun): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of run.got) {
    const m = /^advisory (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!);
    out.set(m[1]!, list);
  }
  return out;
}

function stompSubscribe(client: stompit.Client, headers: stompit.Headers): stompit.Subscription {
  return client.subscribe(headers, () => undefined);
}

describe.skipIf(unavailable !== undefined)(`advisories for other protocols' consumers and producers${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  describe('engine activemq: STOMP (stompit), AMQP 1.0 (rhea), MQTT (mqtt.js)', () => {
    let broker: LocalMQ;
    let run: JmsRun;
    let replayStomp: stompit.Client;

    beforeAll(async () => {
      broker = await startBroker({ engine: 'activemq', ports: { openwire: 0, stomp: 0, amqp10: 0, mqtt: 0 } });
      // there before any advisory subscriber: told to it by the replay
      replayStomp = await stompitConnect(broker);
      stompSubscribe(replayStomp, { destination: '/queue/fa.replay', ack: 'auto' });
      await stompitSend(replayStomp, { destination: '/queue/fa.replay.sync' }, 'sync');
      run = await runJms(
        openwireUrl(broker),
        ['watchAdvisories=ActiveMQ.Advisory.Consumer.Queue.fa.replay=1', 'watchAdvisories=ActiveMQ.Advisory.Consumer.>=13', 'watchAdvisories=ActiveMQ.Advisory.Producer.>=2', 'watchConsumers=fa.source.q=2'],
        {
          onWait: async (what) => {
            if (what === 'advisories ActiveMQ.Advisory.Consumer.>') {
              // (this wildcard subscriber is first told of the fa.replay consumer, then of these 12)
              const stomp = await stompitConnect(broker);
              const q = stompSubscribe(stomp, { destination: '/queue/fa.stomp.q', ack: 'client-individual', selector: 'a = 1' });
              stompSubscribe(stomp, { destination: '/topic/fa.stomp.t' });
              await stompitSend(stomp, { destination: '/queue/fa.stomp.sent' }, 'no advisory');
              q.unsubscribe();
              await stompitDisconnect(stomp);

              const mqtt = await mqttConnect(broker, { clientId: 'fa-mqtt', clean: true });
              await mqtt.subscribeAsync('fa/mqtt/t', { qos: 0 });
              await mqtt.subscribeAsync('fa/mqtt/#', { qos: 1 });
              await mqtt.publishAsync('fa/mqtt/sent', 'no advisory', { qos: 1 });
              await mqtt.unsubscribeAsync('fa/mqtt/t');
              await mqtt.endAsync();

              const amqp = await rheaConnect(broker.ports['amqp10']!);
              await openReceiver(amqp, { source: { address: 'queue://fa.amqp.q' } });
              await openReceiver(amqp, { source: { address: 'topic://fa.amqp.t' } });
              await rheaClose(amqp);
            } else if (what === 'advisories ActiveMQ.Advisory.Producer.>') {
              const amqp = await rheaConnect(broker.ports['amqp10']!);
              const anonymous = await openSender(amqp, { target: {} });
              expect((await sendAwait(anonymous, { to: 'queue://fa.amqp.anon', body: 'no advisory' })).outcome).toBe('accepted');
              const sender = await openSender(amqp, 'queue://fa.amqp.sent');
              expect((await sendAwait(sender, { body: 'x' })).outcome).toBe('accepted');
              const stomp = await stompitConnect(broker);
              await stompitSend(stomp, { destination: '/queue/fa.stomp.sent' }, 'no advisory');
              await stompitDisconnect(stomp);
              await new Promise<void>((resolve) => {
                sender.once('sender_close', () => resolve());
                sender.close();
              });
              await rheaClose(amqp);
            } else if (what === 'consumers fa.source.q') {
              const stomp = await stompitConnect(broker);
              stompSubscribe(stomp, { destination: '/queue/fa.source.q' });
              await stompitDisconnect(stomp);
            }
          },
        },
      );
      await stompitDisconnect(replayStomp);
    }, 120_000);

    afterAll(async () => {
      await broker?.stop();
    });

    it('a new advisory subscriber is told of the STOMP consumer that exists (AdvisoryBroker replay)', () => {
      expect(run.results.get('watchAdvisories=ActiveMQ.Advisory.Consumer.Queue.fa.replay=1'), run.output).toBe('OK');
      expect(byTopic(run).get('ActiveMQ.Advisory.Consumer.Queue.fa.replay')?.[0]).toMatch(/^ConsumerInfo dest=queue:\/\/fa\.replay prefetch=\d+ consumerCount=1$/);
    });

    it('STOMP SUBSCRIBE / UNSUBSCRIBE / DISCONNECT: ConsumerInfo then RemoveInfo on Consumer.Queue.<q> and Consumer.Topic.<t>, with consumerCount', () => {
      expect(run.results.get('watchAdvisories=ActiveMQ.Advisory.Consumer.>=13'), run.output).toBe('OK');
      const t = byTopic(run);
      expect(t.get('ActiveMQ.Advisory.Consumer.Queue.fa.stomp.q')).toEqual(['ConsumerInfo dest=queue://fa.stomp.q prefetch=1000 selector=a = 1 consumerCount=1', 'RemoveInfo of=ConsumerId consumerCount=0']);
      expect(t.get('ActiveMQ.Advisory.Consumer.Topic.fa.stomp.t')).toEqual(['ConsumerInfo dest=topic://fa.stomp.t prefetch=32767 consumerCount=1', 'RemoveInfo of=ConsumerId consumerCount=0']);
    });

    it('MQTT subscriptions are topic consumers (a/b is a.b, # is >), a wildcard counting on the topics it takes', () => {
      const t = byTopic(run);
      expect(t.get('ActiveMQ.Advisory.Consumer.Topic.fa.mqtt.t')).toEqual(['ConsumerInfo dest=topic://fa.mqtt.t prefetch=32767 consumerCount=1', 'RemoveInfo of=ConsumerId consumerCount=1']);
      expect(t.get('ActiveMQ.Advisory.Consumer.Topic.fa.mqtt.>')).toEqual(['ConsumerInfo dest=topic://fa.mqtt.> prefetch=32767 consumerCount=2', 'RemoveInfo of=ConsumerId consumerCount=0']);
    });

    it('AMQP 1.0 receiver links are consumers on their queue or topic, removed with their connection', () => {
      const t = byTopic(run);
      expect(t.get('ActiveMQ.Advisory.Consumer.Queue.fa.amqp.q')).toEqual([expect.stringMatching(/^ConsumerInfo dest=queue:\/\/fa\.amqp\.q prefetch=\d+ consumerCount=1$/), 'RemoveInfo of=ConsumerId consumerCount=0']);
      expect(t.get('ActiveMQ.Advisory.Consumer.Topic.fa.amqp.t')).toEqual([expect.stringMatching(/^ConsumerInfo dest=topic:\/\/fa\.amqp\.t prefetch=\d+ consumerCount=1$/), 'RemoveInfo of=ConsumerId consumerCount=0']);
      // nothing for the STOMP SEND or the MQTT publish
      expect([...t.keys()].filter((k) => k.startsWith('ActiveMQ.Advisory.Consumer.') && k.includes('sent'))).toEqual([]);
    });

    it('producers: an AMQP 1.0 sender with a target is one (ProducerInfo, then RemoveInfo on detach); anonymous senders, STOMP SEND and MQTT publish are not', () => {
      expect(run.results.get('watchAdvisories=ActiveMQ.Advisory.Producer.>=2'), run.output).toBe('OK');
      expect([...byTopic(run)].filter(([k]) => k.startsWith('ActiveMQ.Advisory.Producer.'))).toEqual([
        ['ActiveMQ.Advisory.Producer.Queue.fa.amqp.sent', ['ProducerInfo dest=queue://fa.amqp.sent producerCount=1', 'RemoveInfo of=ProducerId producerCount=0']],
      ]);
    });

    it("the client's ConsumerEventSource hears of a STOMP consumer starting and stopping", () => {
      expect(run.results.get('watchConsumers=fa.source.q=2'), run.output).toBe('OK');
      expect(run.got.filter((l) => l.startsWith('consumers '))).toEqual(['consumers started count 1', 'consumers stopped count 0']);
    });
  });

  describe('engine all: AMQP 0-9-1 (amqplib)', () => {
    let broker: LocalMQ;
    let run: JmsRun;

    beforeAll(async () => {
      broker = await startBroker({ engine: 'all', ports: { openwire: 0, amqp: 0 } });
      run = await runJms(openwireUrl(broker), ['sendTo=fa.amqp091.q', 'watchAdvisories=ActiveMQ.Advisory.Consumer.>=4'], {
        onWait: async () => {
          const conn = await amqplib.connect(amqpUrl(broker));
          const ch = await conn.createChannel();
          // the queue JMS made (an ActiveMQ queue), and a queue bound to amq.topic (a topic subscription)
          const onQueue = await ch.consume('fa.amqp091.q', () => undefined, { noAck: true });
          const { queue } = await ch.assertQueue('', { exclusive: true });
          await ch.bindQueue(queue, 'amq.topic', 'fa.amqp091.#');
          const onTopic = await ch.consume(queue, () => undefined, { noAck: true });
          await ch.cancel(onQueue.consumerTag);
          await ch.cancel(onTopic.consumerTag);
          await conn.close();
        },
      });
    }, 120_000);

    afterAll(async () => {
      await broker?.stop();
    });

    it('a basic.consume on an ActiveMQ queue, and on a queue bound to amq.topic, fire Consumer.Queue / Consumer.Topic advisories', () => {
      expect(run.results.get('watchAdvisories=ActiveMQ.Advisory.Consumer.>=4'), run.output).toBe('OK');
      const t = byTopic(run);
      expect(t.get('ActiveMQ.Advisory.Consumer.Queue.fa.amqp091.q')).toEqual([expect.stringMatching(/^ConsumerInfo dest=queue:\/\/fa\.amqp091\.q prefetch=\d+ consumerCount=1$/), 'RemoveInfo of=ConsumerId consumerCount=0']);
      expect(t.get('ActiveMQ.Advisory.Consumer.Topic.fa.amqp091.>')).toEqual([expect.stringMatching(/^ConsumerInfo dest=topic:\/\/fa\.amqp091\.> prefetch=\d+ consumerCount=1$/), 'RemoveInfo of=ConsumerId consumerCount=0']);
    });
  });
});
