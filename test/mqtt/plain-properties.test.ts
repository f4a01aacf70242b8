import { describe, expect, it } from 'vitest';
import { DUP_HEADER, PUBLISH_QOS_HEADER, publishToMessage } from '../../src/protocols/mqtt/messages.js';

/**
 * Issue 18 (1M publish floods): a PUBLISH without MQTT 5 properties that map to the core
 * gets properties shared by every such message of its QoS and DUP flag (frozen: the core
 * copies properties before it changes them), so a queue of 1M holds no 1M equal objects.
 */
describe('MQTT: the core properties of a PUBLISH', () => {
  it('without properties: one frozen object per QoS and DUP flag, RabbitMQ headers as before', () => {
    const a = publishToMessage('t/1', Buffer.from('a'), 0, false);
    const b = publishToMessage('t/2', Buffer.from('b'), 0, false, {});
    expect(b.properties).toBe(a.properties);
    expect(a.properties).toEqual({ deliveryMode: 1, headers: { [PUBLISH_QOS_HEADER]: 0, [DUP_HEADER]: false } });
    expect(Object.isFrozen(a.properties) && Object.isFrozen(a.properties.headers)).toBe(true);
    const q1 = publishToMessage('t', Buffer.from('c'), 1, true, { topicAlias: 3 });
    expect(q1.properties).toEqual({ deliveryMode: 2, headers: { [PUBLISH_QOS_HEADER]: 1, [DUP_HEADER]: true } });
    expect(q1.properties).not.toBe(a.properties);
    expect(() => {
      a.properties.headers!['x'] = 1;
    }).toThrow(TypeError);
  });

  it('with properties that map: its own, as before', () => {
    const m = publishToMessage('t', Buffer.from('a'), 1, false, { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 5 });
    expect(Object.isFrozen(m.properties)).toBe(false);
    expect(m.properties).toEqual({ deliveryMode: 2, contentType: 'text/plain', expiration: '5000', headers: { [PUBLISH_QOS_HEADER]: 1, [DUP_HEADER]: false, k: 'v' } });
  });
});
