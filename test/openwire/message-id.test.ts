import { describe, expect, it } from 'vitest';
import { messageIdText } from '../../src/protocols/openwire/message-map.js';

// ActiveMQ's MessageId.toString() is producerId + ":" + producerSequenceId, ProducerId.toString()
// connectionId + ":" + sessionId + ":" + value: Java's string concatenation writes a null
// connection id (OpenWire strings may be null) as "null". Found in the session 10 review
// (review-s10-4 #1): the id text built with join(':') wrote it as "".
describe('the text of a JMS message id', () => {
  it('is connection:session:producer:sequence, a null connection id written "null" as Java does', () => {
    const id = { type: 110, producerId: { type: 123, connectionId: null, value: 1, sessionId: 2 }, producerSequenceId: 3, brokerSequenceId: 0, textView: null };
    expect(messageIdText(id as never)).toBe('null:2:1:3');
    const named = { ...id, producerId: { ...id.producerId, connectionId: 'ID:host-1-2-3:4' } };
    expect(messageIdText(named as never)).toBe('ID:host-1-2-3:4:2:1:3');
    expect(messageIdText({ ...named, textView: 'ID:given:1:1:1' } as never)).toBe('ID:given:1:1:1');
  });
});
