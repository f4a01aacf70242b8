import { describe, expect, it } from 'vitest';
import { toComposite, writeComposite, type Composite } from '../../src/protocols/amqp10/codec/composites.js';
import { Decoder } from '../../src/protocols/amqp10/codec/decoder.js';
import { Encoder } from '../../src/protocols/amqp10/codec/encoder.js';
import { FRAME_AMQP, writeFrame } from '../../src/protocols/amqp10/codec/frames.js';
import { endFrame, readTransfer, writeExchangeAnnotations, writeHeaderSection, writeTransferFrameHead } from '../../src/protocols/amqp10/codec/hot.js';
import { Section } from '../../src/protocols/amqp10/codec/message.js';
import { AmqpMap, Sym, ubyte, uint } from '../../src/protocols/amqp10/codec/types.js';

// the delivery path's hand-written encodings (codec/hot.ts) write exactly what the generic
// encoder writes for the same values
function bytes(write: (e: Encoder) => void): string {
  const e = new Encoder(16);
  write(e);
  return e.take().toString('hex');
}

describe('AMQP 1.0 hot-path encodings match the generic encoder', () => {
  it('transfer frames: handles, delivery ids and formats of every width, settled or not, more', () => {
    const payload = Buffer.from('payload');
    for (const handle of [0, 7, 255, 256, 70000])
      for (const id of [0, 1, 255, 256, 0xfffffffe])
        for (const format of [0, 0x80013700])
          for (const [settled, more] of [[false, false], [true, false], [false, true], [true, true]] as const) {
            const tag = Buffer.alloc(4);
            tag.writeUInt32BE((id ^ 0x5a5a) >>> 0, 0);
            const generic = bytes((e) =>
              writeFrame(e, FRAME_AMQP, 3, { $: 'transfer', handle: uint(handle), deliveryId: uint(id), deliveryTag: tag, messageFormat: uint(format), settled: settled ? true : undefined, more: more ? true : undefined } as Composite, payload),
            );
            const hot = bytes((e) => {
              const start = writeTransferFrameHead(e, 3, handle, id, id ^ 0x5a5a, format, settled, more);
              e.raw(payload);
              endFrame(e, start);
            });
            expect(hot).toBe(generic);
          }
  });

  it('header sections: each field set or not', () => {
    for (const durable of [false, true])
      for (const priority of [undefined, 0, 9])
        for (const ttl of [undefined, 0, 100, 100000])
          for (const firstAcquirer of [undefined, false])
            for (const deliveryCount of [undefined, 1, 300]) {
              const generic = bytes((e) =>
                writeComposite(e, { $: 'header', durable: durable || undefined, priority: priority !== undefined ? ubyte(priority) : undefined, ttl, firstAcquirer, deliveryCount } as Composite),
              );
              expect(bytes((e) => writeHeaderSection(e, durable, priority, ttl, firstAcquirer, deliveryCount))).toBe(generic);
            }
  });

  it('x-exchange / x-routing-key annotations, short and long', () => {
    for (const [x, k] of [['', 'q'], ['amq.topic', 'a.b.c'], ['ex', 'k'.repeat(300)]]) {
      const ma = new AmqpMap([
        [new Sym('x-exchange'), x],
        [new Sym('x-routing-key'), k],
      ]);
      expect(bytes((e) => writeExchangeAnnotations(e, x!, k!))).toBe(bytes((e) => e.described(Section.messageAnnotations, ma)));
    }
  });

  it('transfers read the short way decode as the generic decoder decodes them; anything else is left to it', () => {
    const payload = Buffer.from('xyz');
    const frames: Composite[] = [
      { $: 'transfer', handle: uint(0) },
      { $: 'transfer', handle: uint(3), deliveryId: uint(0), deliveryTag: Buffer.from([1, 2, 3, 4]), messageFormat: uint(0), settled: true },
      { $: 'transfer', handle: uint(300), deliveryId: uint(70000), deliveryTag: Buffer.alloc(0), messageFormat: uint(0x80013700), settled: false, more: true },
      { $: 'transfer', handle: uint(1), deliveryId: uint(2), deliveryTag: Buffer.alloc(300, 7), messageFormat: uint(0), settled: true, more: false, rcvSettleMode: ubyte(1), resume: false, aborted: true, batchable: true },
      { $: 'transfer', handle: uint(1), more: true },
    ];
    for (const f of frames) {
      const e = new Encoder(16);
      writeComposite(e, f);
      e.raw(payload);
      const body = e.take();
      const d = new Decoder(body);
      const generic = toComposite(d.read());
      const fast = readTransfer(body);
      expect(fast?.performative).toEqual(generic);
      expect(fast?.payload.toString()).toBe(payload.toString().slice(0));
      expect(body.length - fast!.payload.length).toBe(d.pos);
    }
    // a transfer with a state, and one with a field of the wrong type, go the generic way
    const withState = new Encoder(16);
    writeComposite(withState, { $: 'transfer', handle: uint(0), deliveryId: uint(0), state: { $: 'accepted' } } as Composite);
    expect(readTransfer(withState.take())).toBeUndefined();
    // handle as a str8 'h'
    expect(readTransfer(Buffer.from([0x00, 0x53, 0x14, 0xc0, 0x04, 0x01, 0xa1, 0x01, 0x68]))).toBeUndefined();
    // a list whose size overruns the frame
    expect(readTransfer(Buffer.from([0x00, 0x53, 0x14, 0xc0, 0x09, 0x01, 0x43]))).toBeUndefined();
  });
});
