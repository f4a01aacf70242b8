import { toComposite, writeComposite } from './composites.js';
import { Decoder } from './decoder.js';
import { Encoder } from './encoder.js';
import { Amqp10DecodeError } from './errors.js';
import { AmqpMap, Described, type AmqpValue } from './types.js';

/** message section descriptors (part 3.2) */
export const Section = {
  header: 0x70,
  deliveryAnnotations: 0x71,
  messageAnnotations: 0x72,
  properties: 0x73,
  applicationProperties: 0x74,
  data: 0x75,
  amqpSequence: 0x76,
  amqpValue: 0x77,
  footer: 0x78,
} as const;

export interface MessageHeader {
  durable?: boolean;
  priority?: number;
  ttl?: number;
  firstAcquirer?: boolean;
  deliveryCount?: number;
}

export interface MessageProps {
  messageId?: AmqpValue;
  userId?: Buffer;
  to?: string;
  subject?: string;
  replyTo?: string;
  correlationId?: AmqpValue;
  contentType?: string;
  contentEncoding?: string;
  absoluteExpiryTime?: Date;
  creationTime?: Date;
  groupId?: string;
  groupSequence?: number;
  replyToGroupId?: string;
}

export type MessageBody =
  | { kind: 'data'; chunks: Buffer[] }
  | { kind: 'sequence'; lists: AmqpValue[][] }
  | { kind: 'value'; value: AmqpValue }
  | { kind: 'none' };

export interface AmqpMessage {
  header?: MessageHeader;
  deliveryAnnotations?: AmqpMap;
  messageAnnotations?: AmqpMap;
  properties?: MessageProps;
  applicationProperties?: AmqpMap;
  body: MessageBody;
  footer?: AmqpMap;
}

export interface DecodedMessage {
  message: AmqpMessage;
  /** where the bare message (properties, application-properties, body) starts in the input */
  bareStart: number;
  /** where the body sections start, and where they end (the footer, if any, follows) */
  bodyStart: number;
  bodyEnd: number;
}

const ORDER: Record<number, number> = {
  [Section.header]: 0,
  [Section.deliveryAnnotations]: 1,
  [Section.messageAnnotations]: 2,
  [Section.properties]: 3,
  [Section.applicationProperties]: 4,
  [Section.data]: 5,
  [Section.amqpSequence]: 5,
  [Section.amqpValue]: 5,
  [Section.footer]: 6,
};

/**
 * Decode an annotated message (the payload of a whole delivery): each section once, in
 * order; the body one or more data sections, one or more amqp-sequence sections, or one
 * amqp-value.
 */
export function decodeMessage(buf: Buffer): DecodedMessage {
  const d = new Decoder(buf);
  const message: AmqpMessage = { body: { kind: 'none' } };
  let last = -1;
  let bareStart = -1;
  let bodyStart = -1;
  let bodyEnd = buf.length;
  while (d.remaining > 0) {
    const at = d.pos;
    const v = d.read();
    if (!(v instanceof Described) || v.code === undefined) throw new Amqp10DecodeError('a message section must be a described type with a numeric descriptor');
    const code = v.code;
    const rank = ORDER[code];
    if (rank === undefined) throw new Amqp10DecodeError(`unknown message section 0x${code.toString(16)}`);
    const isBody = rank === 5;
    if (rank < last || (rank === last && !(isBody && code !== Section.amqpValue && sameBodyKind(message.body, code)))) {
      throw new Amqp10DecodeError(`message section 0x${code.toString(16)} out of order or repeated`);
    }
    last = rank;
    if (rank >= 3 && bareStart < 0) bareStart = at;
    switch (code) {
      case Section.header:
        message.header = (toComposite(v) ?? {}) as MessageHeader;
        break;
      case Section.deliveryAnnotations:
        message.deliveryAnnotations = asMap(v.value, 'delivery-annotations');
        break;
      case Section.messageAnnotations:
        message.messageAnnotations = asMap(v.value, 'message-annotations');
        break;
      case Section.properties:
        message.properties = (toComposite(v) ?? {}) as MessageProps;
        break;
      case Section.applicationProperties:
        message.applicationProperties = asMap(v.value, 'application-properties');
        break;
      case Section.data:
        if (!Buffer.isBuffer(v.value)) throw new Amqp10DecodeError('a data section must hold binary');
        if (bodyStart < 0) bodyStart = at;
        if (message.body.kind === 'data') message.body.chunks.push(v.value);
        else message.body = { kind: 'data', chunks: [v.value] };
        break;
      case Section.amqpSequence:
        if (!Array.isArray(v.value)) throw new Amqp10DecodeError('an amqp-sequence section must hold a list');
        if (bodyStart < 0) bodyStart = at;
        if (message.body.kind === 'sequence') message.body.lists.push(v.value);
        else message.body = { kind: 'sequence', lists: [v.value] };
        break;
      case Section.amqpValue:
        if (bodyStart < 0) bodyStart = at;
        message.body = { kind: 'value', value: v.value };
        break;
      case Section.footer:
        bodyEnd = at;
        message.footer = asMap(v.value, 'footer');
        break;
    }
  }
  if (bareStart < 0) bareStart = buf.length;
  if (bodyStart < 0) bodyStart = bodyEnd;
  return { message, bareStart, bodyStart, bodyEnd };
}

function sameBodyKind(body: MessageBody, code: number): boolean {
  return (body.kind === 'data' && code === Section.data) || (body.kind === 'sequence' && code === Section.amqpSequence);
}

function asMap(v: AmqpValue, what: string): AmqpMap {
  if (v === null) return new AmqpMap();
  if (!(v instanceof AmqpMap)) throw new Amqp10DecodeError(`${what} must be a map`);
  return v;
}

/** write the sections of `m`, each only when present */
export function writeMessage(e: Encoder, m: AmqpMessage): void {
  if (m.header) writeComposite(e, { $: 'header', ...m.header });
  if (m.deliveryAnnotations?.size) e.described(Section.deliveryAnnotations, m.deliveryAnnotations);
  if (m.messageAnnotations?.size) e.described(Section.messageAnnotations, m.messageAnnotations);
  writeBare(e, m);
}

/** the bare message: properties, application-properties, body, footer */
export function writeBare(e: Encoder, m: AmqpMessage): void {
  if (m.properties && Object.values(m.properties).some((v) => v !== undefined)) writeComposite(e, { $: 'properties', ...m.properties });
  if (m.applicationProperties?.size) e.described(Section.applicationProperties, m.applicationProperties);
  writeBody(e, m.body);
  if (m.footer?.size) e.described(Section.footer, m.footer);
}

export function writeBody(e: Encoder, body: MessageBody): void {
  switch (body.kind) {
    case 'data':
      for (const c of body.chunks) {
        e.byte(0x00);
        e.ulong(Section.data);
        e.binary(c);
      }
      return;
    case 'sequence':
      for (const l of body.lists) e.described(Section.amqpSequence, l);
      return;
    case 'value':
      e.described(Section.amqpValue, body.value);
      return;
    case 'none':
      return;
  }
}

export function encodeMessage(m: AmqpMessage): Buffer {
  const e = new Encoder(256);
  writeMessage(e, m);
  return e.take();
}
