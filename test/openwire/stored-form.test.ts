import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { StoredNative } from '../../src/core/native-forms.js';
import { Writer } from '../../src/protocols/openwire/codec/data.js';
import { appendFrame, decodeFrame, encodeFrame, type OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { PType, encodePrimitiveMap, type Typed } from '../../src/protocols/openwire/codec/primitive.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { MAX_VERSION } from '../../src/protocols/openwire/codec/wire-format.js';
import { fromOpenWire, nativeOf, textContent } from '../../src/protocols/openwire/message-map.js';
import { ByteReader, ByteWriter } from '../../src/store/file/binary.js';
import { readMessagePart, writeMessagePart } from '../../src/store/file/record-codec.js';

/**
 * Issue 18 (review): a message kept in OpenWire's form is stored with its body once. The
 * store writes the body; OpenWire's stored form leaves its content out and gets it back
 * from the body (a TextMessage's content is the body's length and bytes), unless the content
 * cannot be had from the body (a text that modified UTF-8 writes differently: it stays in).
 * What comes back is the struct the producer sent; a form stored whole (older journals) is
 * still read, and written back as it was.
 */
const WIRE = { version: MAX_VERSION, stackTraceEnabled: false };
const CONN = 'ID:stored-form-1';

/** a message command as the broker decodes it off the wire */
function sent(type: number, content: Buffer | null): OwStruct {
  const producerId = { type: T.ProducerId, connectionId: CONN, value: 1, sessionId: 1 };
  const props = new Map<string, Typed>([['n', { t: PType.Integer, v: 7 }], ['label', { t: PType.String, v: 'seven' }]]);
  const s: OwStruct = {
    type,
    producerId,
    destination: { type: T.Queue, physicalName: 'q' },
    messageId: { type: T.MessageId, textView: null, producerId, producerSequenceId: 7, brokerSequenceId: 0 },
    correlationId: 'corr-7',
    persistent: true,
    priority: 4,
    timestamp: 1_700_000_000_123,
    jmsType: 'kind',
    content,
    marshalledProperties: encodePrimitiveMap(props),
  };
  return decodeFrame(encodeFrame(s, WIRE).subarray(4), WIRE);
}

/** the message as the broker keeps it */
function received(type: number, content: Buffer | null): Message {
  return fromOpenWire(sent(type, content), { kind: 'queue', temporary: false, name: 'q' }, CONN, 1_700_000_000_500, 1 << 20);
}

function stored(m: Message): { bytes: number; back: Message } {
  const w = new ByteWriter(1024);
  writeMessagePart(w, m);
  return { bytes: w.pos, back: readMessagePart(new ByteReader(w.buf, 0, w.pos)) };
}

const bodyOnly = (m: Message): number => {
  const w = new ByteWriter(1024);
  writeMessagePart(w, { ...m, native: undefined });
  return w.pos;
};

describe("OpenWire's stored form", () => {
  const kib = Buffer.alloc(1024, 'b');
  const cases: Array<[string, number, Buffer | null]> = [
    ['BytesMessage of 1 KiB', T.BytesMessage, kib],
    ['TextMessage of 1 KiB', T.TextMessage, textContent('t'.repeat(1024))],
    ['TextMessage with non-ASCII text', T.TextMessage, textContent('héllo wörld €')],
    ['Message without content', T.Message, null],
    ['MapMessage', T.MapMessage, encodePrimitiveMap(new Map<string, Typed>([['k', { t: PType.Long, v: 2 ** 40 }]]))],
  ];
  const none = received(T.Message, null);
  const besideNoContent = stored(none).bytes - bodyOnly(none);
  it.each(cases)('%s: stored with the body once, read back as sent', (_name, type, content) => {
    const s = sent(type, content);
    const m = received(type, content);
    const { bytes, back } = stored(m);
    // the form beside the body is the command without its content: as large whatever the
    // content (these cases differ only in their type and content), so a second copy of the
    // body would show as that many bytes more than beside a message with no content at all
    expect(bytes - bodyOnly(m)).toBe(besideNoContent);
    expect(back.body).toEqual(m.body);
    expect(nativeOf(back)).toEqual(nativeOf(m));
    expect(nativeOf(back)!.struct['content']).toEqual(s['content']);
    // and written again as the same bytes
    expect(stored(back).bytes).toBe(bytes);
  });

  it('a text that modified UTF-8 writes differently from UTF-8 (NUL, outside the BMP) keeps its content in the form', () => {
    const text = textContent('nul \u0000 and 😀');
    const s = sent(T.TextMessage, text);
    const m = received(T.TextMessage, text);
    const { back } = stored(m);
    expect(nativeOf(back)!.struct['content']).toEqual(s['content']);
    expect(nativeOf(back)).toEqual(nativeOf(m));
  });

  it('a form stored whole (its body inside: journals written before) is read, and written back whole', () => {
    const m = received(T.TextMessage, textContent('old'));
    // the earlier record form: after the body, the protocol's name, then the connection id and the whole command
    const whole = new Writer(256);
    whole.utf(CONN);
    appendFrame(nativeOf(m)!.struct, WIRE, whole);
    const w = new ByteWriter(1024);
    writeMessagePart(w, { ...m, native: undefined });
    w.str('openwire');
    w.bytes(whole.finish());
    const back = readMessagePart(new ByteReader(w.buf, 0, w.pos));
    expect(back.native).toBeInstanceOf(StoredNative);
    expect((back.native as StoredNative).whole).toBe(true);
    expect(nativeOf(back)).toEqual(nativeOf(m));
    const again = new ByteWriter(1024);
    writeMessagePart(again, back);
    expect(again.buf.subarray(0, again.pos)).toEqual(w.buf.subarray(0, w.pos));
  });
});
