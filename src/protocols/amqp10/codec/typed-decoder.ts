import { Decoder, T } from './decoder.js';
import { Amqp10DecodeError } from './errors.js';
import { Typed, type AmqpValue, type TypeName } from './types.js';

/** the exact type of each number-valued constructor (the plain decoder gives a JS number for all of them) */
const NUMBER_TYPES: Partial<Record<number, TypeName>> = {
  [T.uint0]: 'uint',
  [T.ulong0]: 'ulong',
  [T.ubyte]: 'ubyte',
  [T.byte]: 'byte',
  [T.smalluint]: 'uint',
  [T.smallulong]: 'ulong',
  [T.smallint]: 'int',
  [T.smalllong]: 'long',
  [T.ushort]: 'ushort',
  [T.short]: 'short',
  [T.uint]: 'uint',
  [T.int]: 'int',
  [T.float]: 'float',
  [T.char]: 'char',
  [T.ulong]: 'ulong',
  [T.long]: 'long',
  [T.double]: 'double',
};

/**
 * A decoder that keeps the exact AMQP type of every number and char (as Typed), for the
 * few places where the type is the meaning: a JMS MapMessage or StreamMessage body, where
 * an AMQP `long` must become a Java Long and a `short` a Short. Everything else decodes as
 * the plain decoder does; compounds recurse through this readOf.
 */
export class TypedDecoder extends Decoder {
  override readOf(code: number): AmqpValue {
    const v = super.readOf(code);
    const type = NUMBER_TYPES[code];
    return type === undefined ? v : new Typed(type, v);
  }
}

/** the value of the described section at `start` (a message body section), numbers typed; `end` after it */
export function decodeSectionTyped(buf: Buffer, start: number, end: number): { value: AmqpValue; end: number } {
  // the descriptor as the plain decoder reads it (a ulong code), the value typed
  const plain = new Decoder(buf, start, end);
  if (buf[start] !== T.described) throw new Amqp10DecodeError('a message section must be a described type');
  plain.pos = start + 1;
  plain.read();
  const typed = new TypedDecoder(buf, plain.pos, end);
  const value = typed.read();
  return { value, end: typed.pos };
}
