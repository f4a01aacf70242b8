import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { RepeatedIds } from '../../src/protocols/openwire/repeated-ids.js';

/**
 * Issue 18 (1M publish floods): a queued OpenWire message keeps its command, whose ids and
 * destination repeat from one message to the next; RepeatedIds makes an equal one the same
 * object, so a queue holds one copy (heap per queued message of the JMS flood: 1554 → 1210 B).
 */
const WIRE = { version: 12, stackTraceEnabled: false };

/** a message command as decoded off the wire: its own copies of everything (`idProducer`: its MessageId's producer, when another's) */
function sent(producer: number, queue: string, seq: number, idProducer = producer): OwStruct {
  const producerId = { type: T.ProducerId, connectionId: 'ID:rep-1', value: producer, sessionId: 1 };
  const messageProducerId = { type: T.ProducerId, connectionId: 'ID:rep-1', value: idProducer, sessionId: 1 };
  const s: OwStruct = {
    type: T.BytesMessage,
    producerId,
    destination: { type: T.Queue, physicalName: queue },
    messageId: { type: T.MessageId, textView: null, producerId: messageProducerId, producerSequenceId: seq, brokerSequenceId: 0 },
    content: Buffer.from([seq]),
  };
  return decodeFrame(encodeFrame(s, WIRE).subarray(4), WIRE);
}

const producerOf = (s: OwStruct) => s['producerId'] as OwStruct;
const idProducerOf = (s: OwStruct) => (s['messageId'] as OwStruct)['producerId'] as OwStruct;

describe('OpenWire: incoming messages share the ids and destination they repeat', () => {
  it('equal ProducerIds (the command and its MessageId) and destinations become one object; values unchanged', () => {
    const ids = new RepeatedIds();
    const a = sent(1, 'q', 1);
    const b = sent(1, 'q', 2);
    expect(producerOf(b)).not.toBe(producerOf(a));
    ids.share(a);
    ids.share(b);
    expect(idProducerOf(a)).toBe(producerOf(a));
    expect(producerOf(b)).toBe(producerOf(a));
    expect(idProducerOf(b)).toBe(producerOf(a));
    expect(b['destination']).toBe(a['destination']);
    expect(producerOf(b)).toEqual({ type: T.ProducerId, connectionId: 'ID:rep-1', value: 1, sessionId: 1 });
    expect((b['messageId'] as OwStruct)['producerSequenceId']).toBe(2);
  });

  it('a different producer or destination keeps its own, and becomes the one shared next', () => {
    const ids = new RepeatedIds();
    const a = sent(1, 'q', 1);
    const b = sent(2, 'r', 1);
    const c = sent(2, 'r', 2);
    ids.share(a);
    ids.share(b);
    ids.share(c);
    expect(producerOf(b)).not.toBe(producerOf(a));
    expect(producerOf(b)['value']).toBe(2);
    expect(b['destination']).not.toBe(a['destination']);
    expect((b['destination'] as OwStruct)['physicalName']).toBe('r');
    expect(producerOf(c)).toBe(producerOf(b));
    expect(c['destination']).toBe(b['destination']);
    // a topic of the same name is another destination
    const t = sent(2, 'r', 3);
    (t['destination'] as OwStruct).type = T.Topic;
    ids.share(t);
    expect(t['destination']).not.toBe(c['destination']);
  });

  it('a MessageId of another producer than its command (a client re-sending a received message) is shared in a slot of its own', () => {
    const ids = new RepeatedIds();
    const a = sent(1, 'q', 1, 7);
    const b = sent(1, 'q', 2, 7);
    ids.share(a);
    ids.share(b);
    // neither evicts the other: the command's producer and the MessageId's are each shared
    expect(producerOf(b)).toBe(producerOf(a));
    expect(idProducerOf(b)).toBe(idProducerOf(a));
    expect(idProducerOf(b)).not.toBe(producerOf(b));
    expect(idProducerOf(b)['value']).toBe(7);
    expect(producerOf(b)['value']).toBe(1);
  });

  it('what it shares is frozen: an in-place change throws instead of changing every queued message of that producer', () => {
    const ids = new RepeatedIds();
    const a = sent(1, 'q', 1);
    const b = sent(1, 'q', 2);
    ids.share(a);
    ids.share(b);
    for (const shared of [producerOf(b), idProducerOf(b), b['destination'] as OwStruct]) {
      expect(Object.isFrozen(shared)).toBe(true);
    }
    expect(() => {
      (b['destination'] as OwStruct)['physicalName'] = 'elsewhere';
    }).toThrow(TypeError);
    expect(() => {
      idProducerOf(b)['value'] = 2;
    }).toThrow(TypeError);
    expect((a['destination'] as OwStruct)['physicalName']).toBe('q');
    expect(idProducerOf(a)['value']).toBe(1);
  });
});
