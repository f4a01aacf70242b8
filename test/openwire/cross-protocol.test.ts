import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { jmsUnavailable, runJms, type JmsRun } from '../helpers/jms.js';
import { inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';
import { stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';
import { amqpUrl } from '../helpers/amqp.js';

/**
 * JMS (the real ActiveMQ client over OpenWire) to and from STOMP, MQTT and AMQP 0-9-1 on
 * one core, with ActiveMQ's mappings: a STOMP frame without content-length is a
 * TextMessage, with it a BytesMessage; a JMS text message reaches STOMP without
 * content-length; JMS topic `a.b` is MQTT topic `a/b`.
 */
const unavailable = jmsUnavailable();
const openwireUrl = (b: LocalMQ) => b.urls.openwire!.replace('localhost', '127.0.0.1');

describe.skipIf(unavailable !== undefined)(`JMS across protocols${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  describe('engine activemq: STOMP (stompit) and MQTT (mqtt.js)', () => {
    let broker: LocalMQ;
    let run: JmsRun;
    const fromJmsToMqtt: { topic: string; payload: string }[] = [];

    beforeAll(async () => {
      broker = await startBroker({ engine: 'activemq', ports: { openwire: 0, stomp: 0, mqtt: 0 } });
      const mqtt = await mqttConnect(broker, { clientId: 'xp-mqtt' });
      const box = inbox(mqtt);
      await subscribe(mqtt, 'xp/jms/to/mqtt', 1);
      const stomp = await stompitConnect(broker);
      run = await runJms(openwireUrl(broker), ['sendTo=xp.jms.to.stomp', 'receiveFrom=xp.stomp.to.jms=2', 'receiveFrom=topic://xp.mqtt.to.jms=1', 'sendTo=topic://xp.jms.to.mqtt'], {
        onWait: async (what) => {
          if (what === 'ready xp.stomp.to.jms') {
            // no content-length: a TextMessage; with one: a BytesMessage (ActiveMQ's STOMP rules)
            await stompitSend(stomp, { destination: '/queue/xp.stomp.to.jms', 'custom-header': 'from-stomp', 'correlation-id': 'st-1' }, 'stomp text');
            await stompitSend(stomp, { destination: '/queue/xp.stomp.to.jms', 'content-length': '11' }, 'stomp bytes');
          } else if (what === 'ready topic://xp.mqtt.to.jms') {
            await mqtt.publishAsync('xp/mqtt/to/jms', 'from mqtt', { qos: 1 });
          }
        },
      });
      for (let i = 0; i < 2; i++) {
        const m = await box.next();
        fromJmsToMqtt.push({ topic: m.topic, payload: m.payload.toString() });
      }
      const sub = stompitSubscribe(stomp, { destination: '/queue/xp.jms.to.stomp', ack: 'auto' });
      const text = await sub.next();
      const bytes = await sub.next();
      stompReceived.push(text, bytes);
      await stompitDisconnect(stomp);
      await mqtt.endAsync();
    }, 120_000);
    const stompReceived: Awaited<ReturnType<ReturnType<typeof stompitSubscribe>['next']>>[] = [];

    afterAll(async () => {
      await broker?.stop();
    });

    it('JMS → STOMP: a TextMessage arrives without content-length, a BytesMessage with it; properties and correlation id as headers', () => {
      expect(run.results.get('sendTo=xp.jms.to.stomp')).toBe('OK');
      const [text, bytes] = stompReceived;
      expect(text!.body).toBe('text from jms');
      expect(text!.headers['content-length']).toBeUndefined();
      expect(text!.headers['origin']).toBe('jms');
      expect(text!.headers['correlation-id']).toBe('c-1');
      expect(text!.headers['persistent']).toBe('true');
      expect(String(bytes!.headers['content-length'])).toBe('3');
      expect(Buffer.from(bytes!.body, 'latin1')).toEqual(Buffer.from([1, 2, 3]));
    });

    it('STOMP → JMS: without content-length a TextMessage, with it a BytesMessage; headers as properties', () => {
      expect(run.results.get('receiveFrom=xp.stomp.to.jms=2')).toBe('OK');
      expect(run.got[0]).toMatch(/^text stomp text .*custom-header=from-stomp;/);
      expect(run.got[0]).toMatch(/JMSCorrelationID=st-1;/);
      expect(run.got[1]).toMatch(/^bytes stomp bytes( |$)/);
    });

    it('MQTT → JMS topic: a/b is a.b, the payload a BytesMessage', () => {
      expect(run.results.get('receiveFrom=topic://xp.mqtt.to.jms=1')).toBe('OK');
      expect(run.got[2]).toMatch(/^bytes from mqtt( |$)/);
    });

    it('JMS topic → MQTT: a.b is a/b', () => {
      expect(run.results.get('sendTo=topic://xp.jms.to.mqtt')).toBe('OK');
      expect(fromJmsToMqtt).toEqual([
        { topic: 'xp/jms/to/mqtt', payload: 'text from jms' },
        { topic: 'xp/jms/to/mqtt', payload: '\u0001\u0002\u0003' },
      ]);
    });
  });

  describe('engine all: AMQP 0-9-1 (amqplib)', () => {
    let broker: LocalMQ;
    let run: JmsRun;
    let fromJms: amqplib.GetMessage[] = [];

    beforeAll(async () => {
      broker = await startBroker({ engine: 'all', ports: { openwire: 0, amqp: 0 } });
      const conn = await amqplib.connect(amqpUrl(broker));
      const ch = await conn.createChannel();
      run = await runJms(openwireUrl(broker), ['sendTo=xp.jms.to.amqp', 'receiveFrom=xp.amqp.to.jms=1'], {
        onWait: async () => {
          await ch.assertQueue('xp.amqp.to.jms', { durable: true });
          ch.sendToQueue('xp.amqp.to.jms', Buffer.from('from amqp'), { headers: { kind: 'amqp', n: 7 }, correlationId: 'am-1', persistent: true });
        },
      });
      for (let i = 0; i < 2; i++) {
        const m = await ch.get('xp.jms.to.amqp', { noAck: true });
        if (m) fromJms.push(m);
      }
      await conn.close();
    }, 120_000);

    afterAll(async () => {
      await broker?.stop();
    });

    it('JMS → amqplib: the body, properties as headers, correlation id, persistent delivery mode', () => {
      expect(run.results.get('sendTo=xp.jms.to.amqp')).toBe('OK');
      const [text, bytes] = fromJms;
      expect(text!.content.toString()).toBe('text from jms');
      expect(text!.properties.headers?.['origin']).toBe('jms');
      expect(text!.properties.correlationId).toBe('c-1');
      expect(text!.properties.deliveryMode).toBe(2);
      expect(bytes!.content).toEqual(Buffer.from([1, 2, 3]));
    });

    it('amqplib → JMS: a BytesMessage with the headers as properties and the correlation id', () => {
      expect(run.results.get('receiveFrom=xp.amqp.to.jms=1')).toBe('OK');
      expect(run.got[0]).toMatch(/^bytes from amqp( |$)/);
      expect(run.got[0]).toMatch(/kind=amqp;/);
      expect(run.got[0]).toMatch(/n=7;/);
      expect(run.got[0]).toMatch(/JMSCorrelationID=am-1;/);
    });
  });
});
