import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { OutstandingList, sameMessageId, type Outstanding } from '../../src/protocols/openwire/outstanding.js';

/** a MessageId as the JMS client sends it back in a MessageAck: a new object with the same fields */
function id(seq: number, producer = 1, textView: string | null = null): OwStruct {
  return {
    type: T.MessageId,
    textView,
    producerId: { type: T.ProducerId, connectionId: 'ID:host-1234-1:1', sessionId: 1, value: producer },
    producerSequenceId: seq,
    brokerSequenceId: 0,
  };
}

const message = { exchange: '', routingKey: 'q', properties: {}, body: Buffer.alloc(0), publishedAt: 0 } as Message;

function entry(tag: number, seq = tag, producer = 1): Outstanding {
  return { tag, id: id(seq, producer), brokerSeq: 1000 + tag, message, dest: { kind: 'queue', temporary: false, name: 'q' } };
}

describe('OpenWire outstanding deliveries (acks name messages by MessageId)', () => {
  it('MessageIds are equal by producer and sequence, whatever object carries them', () => {
    expect(sameMessageId(id(5), id(5))).toBe(true);
    expect(sameMessageId(id(5), id(6))).toBe(false);
    expect(sameMessageId(id(5, 1), id(5, 2))).toBe(false);
    expect(sameMessageId(id(5, 1, 'ID:other'), id(5, 1, null))).toBe(false);
    expect(sameMessageId(id(5), null)).toBe(false);
  });

  it('a standard ack takes every delivery up to the one it names, in delivery order', () => {
    const list = new OutstandingList();
    for (let t = 1; t <= 5; t++) list.push(entry(t));
    const last = list.find(id(3))!;
    expect(last.tag).toBe(3);
    expect(list.takeThrough(last).map((o) => o.tag)).toEqual([1, 2, 3]);
    expect(list.size).toBe(2);
    expect(list.find(id(2))).toBeUndefined();
    expect(list.find(id(5))!.tag).toBe(5);
  });

  it('an individual ack takes one delivery from the middle; ranges take [first, last]', () => {
    const list = new OutstandingList();
    for (let t = 1; t <= 6; t++) list.push(entry(t));
    expect(list.take(list.find(id(4))!)).toBe(true);
    expect(list.takeRange(2, 5).map((o) => o.tag)).toEqual([2, 3, 5]);
    expect(list.takeThrough(list.find(id(6))!).map((o) => o.tag)).toEqual([1, 6]);
    expect(list.size).toBe(0);
  });

  it('a message delivered again moves to the end (its old delivery is forgotten)', () => {
    const list = new OutstandingList();
    list.push(entry(1, 1));
    list.push(entry(2, 2));
    list.removeId(id(1));
    list.push(entry(3, 1));
    expect(list.find(id(1))!.tag).toBe(3);
    expect(list.takeThrough(list.find(id(2))!).map((o) => o.tag)).toEqual([2]);
  });

  it('stays right over many deliveries acked one by one (the front is given back as it goes)', () => {
    const list = new OutstandingList();
    let next = 1;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++, next++) list.push(entry(next));
      // ack all but the newest 10, one at a time as AUTO_ACK does
      while (list.size > 10) {
        const oldest = list.takeThrough(list.find(id(next - list.size))!);
        expect(oldest).toHaveLength(1);
      }
    }
    expect(list.size).toBe(10);
    expect(list.find(id(next - 10))!.tag).toBe(next - 10);
  });
});
