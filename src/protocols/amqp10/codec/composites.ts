import { Amqp10DecodeError } from './errors.js';
import type { Encoder } from './encoder.js';
import { Described, Sym, Typed, type AmqpValue, type TypeName } from './types.js';

/**
 * The described composite types of AMQP 1.0 (performatives, SASL frames, link terminus,
 * delivery states, errors, message header and properties, transactions) by descriptor
 * code and field list, as the spec's XML defines them. Decoding a described list gives
 * an object with `$` = the type name and one property per field present; encoding writes
 * each field with its declared type and drops trailing nulls.
 */
type FieldType = TypeName | 'any' | 'symbols';
type Spec = { name: string; code: number; fields: [string, FieldType][] };

const SPECS: Spec[] = [
  // transport (part 2.7)
  { name: 'open', code: 0x10, fields: [['containerId', 'string'], ['hostname', 'string'], ['maxFrameSize', 'uint'], ['channelMax', 'ushort'], ['idleTimeOut', 'uint'], ['outgoingLocales', 'symbols'], ['incomingLocales', 'symbols'], ['offeredCapabilities', 'symbols'], ['desiredCapabilities', 'symbols'], ['properties', 'any']] },
  { name: 'begin', code: 0x11, fields: [['remoteChannel', 'ushort'], ['nextOutgoingId', 'uint'], ['incomingWindow', 'uint'], ['outgoingWindow', 'uint'], ['handleMax', 'uint'], ['offeredCapabilities', 'symbols'], ['desiredCapabilities', 'symbols'], ['properties', 'any']] },
  { name: 'attach', code: 0x12, fields: [['name', 'string'], ['handle', 'uint'], ['role', 'boolean'], ['sndSettleMode', 'ubyte'], ['rcvSettleMode', 'ubyte'], ['source', 'any'], ['target', 'any'], ['unsettled', 'any'], ['incompleteUnsettled', 'boolean'], ['initialDeliveryCount', 'uint'], ['maxMessageSize', 'ulong'], ['offeredCapabilities', 'symbols'], ['desiredCapabilities', 'symbols'], ['properties', 'any']] },
  { name: 'flow', code: 0x13, fields: [['nextIncomingId', 'uint'], ['incomingWindow', 'uint'], ['nextOutgoingId', 'uint'], ['outgoingWindow', 'uint'], ['handle', 'uint'], ['deliveryCount', 'uint'], ['linkCredit', 'uint'], ['available', 'uint'], ['drain', 'boolean'], ['echo', 'boolean'], ['properties', 'any']] },
  { name: 'transfer', code: 0x14, fields: [['handle', 'uint'], ['deliveryId', 'uint'], ['deliveryTag', 'binary'], ['messageFormat', 'uint'], ['settled', 'boolean'], ['more', 'boolean'], ['rcvSettleMode', 'ubyte'], ['state', 'any'], ['resume', 'boolean'], ['aborted', 'boolean'], ['batchable', 'boolean']] },
  { name: 'disposition', code: 0x15, fields: [['role', 'boolean'], ['first', 'uint'], ['last', 'uint'], ['settled', 'boolean'], ['state', 'any'], ['batchable', 'boolean']] },
  { name: 'detach', code: 0x16, fields: [['handle', 'uint'], ['closed', 'boolean'], ['error', 'any']] },
  { name: 'end', code: 0x17, fields: [['error', 'any']] },
  { name: 'close', code: 0x18, fields: [['error', 'any']] },
  { name: 'error', code: 0x1d, fields: [['condition', 'symbol'], ['description', 'string'], ['info', 'any']] },
  // delivery states (part 3.4)
  { name: 'received', code: 0x23, fields: [['sectionNumber', 'uint'], ['sectionOffset', 'ulong']] },
  { name: 'accepted', code: 0x24, fields: [] },
  { name: 'rejected', code: 0x25, fields: [['error', 'any']] },
  { name: 'released', code: 0x26, fields: [] },
  { name: 'modified', code: 0x27, fields: [['deliveryFailed', 'boolean'], ['undeliverableHere', 'boolean'], ['messageAnnotations', 'any']] },
  // terminus (part 3.5)
  { name: 'source', code: 0x28, fields: [['address', 'string'], ['durable', 'uint'], ['expiryPolicy', 'symbol'], ['timeout', 'uint'], ['dynamic', 'boolean'], ['dynamicNodeProperties', 'any'], ['distributionMode', 'symbol'], ['filter', 'any'], ['defaultOutcome', 'any'], ['outcomes', 'symbols'], ['capabilities', 'symbols']] },
  { name: 'target', code: 0x29, fields: [['address', 'string'], ['durable', 'uint'], ['expiryPolicy', 'symbol'], ['timeout', 'uint'], ['dynamic', 'boolean'], ['dynamicNodeProperties', 'any'], ['capabilities', 'symbols']] },
  { name: 'delete-on-close', code: 0x2b, fields: [] },
  { name: 'delete-on-no-links', code: 0x2c, fields: [] },
  { name: 'delete-on-no-messages', code: 0x2d, fields: [] },
  { name: 'delete-on-no-links-or-messages', code: 0x2e, fields: [] },
  // transactions (part 4)
  { name: 'coordinator', code: 0x30, fields: [['capabilities', 'symbols']] },
  { name: 'declare', code: 0x31, fields: [['globalId', 'any']] },
  { name: 'discharge', code: 0x32, fields: [['txnId', 'binary'], ['fail', 'boolean']] },
  { name: 'declared', code: 0x33, fields: [['txnId', 'binary']] },
  { name: 'transactional-state', code: 0x34, fields: [['txnId', 'binary'], ['outcome', 'any']] },
  // security (part 5.3)
  { name: 'sasl-mechanisms', code: 0x40, fields: [['saslServerMechanisms', 'symbols']] },
  { name: 'sasl-init', code: 0x41, fields: [['mechanism', 'symbol'], ['initialResponse', 'binary'], ['hostname', 'string']] },
  { name: 'sasl-challenge', code: 0x42, fields: [['challenge', 'binary']] },
  { name: 'sasl-response', code: 0x43, fields: [['response', 'binary']] },
  { name: 'sasl-outcome', code: 0x44, fields: [['code', 'ubyte'], ['additionalData', 'binary']] },
  // message format (part 3.2): the two sections that are lists
  { name: 'header', code: 0x70, fields: [['durable', 'boolean'], ['priority', 'ubyte'], ['ttl', 'uint'], ['firstAcquirer', 'boolean'], ['deliveryCount', 'uint']] },
  { name: 'properties', code: 0x73, fields: [['messageId', 'any'], ['userId', 'binary'], ['to', 'string'], ['subject', 'string'], ['replyTo', 'string'], ['correlationId', 'any'], ['contentType', 'symbol'], ['contentEncoding', 'symbol'], ['absoluteExpiryTime', 'timestamp'], ['creationTime', 'timestamp'], ['groupId', 'string'], ['groupSequence', 'uint'], ['replyToGroupId', 'string']] },
];

const BY_CODE = new Map<number, Spec>(SPECS.map((s) => [s.code, s]));
const BY_NAME = new Map<string, Spec>(SPECS.map((s) => [s.name, s]));
/** symbolic descriptors (`amqp:open:list`) name the same types */
const BY_SYMBOL = new Map<string, Spec>(SPECS.map((s) => [`amqp:${s.name}:list`, s]));

/** a decoded composite: its type name and fields */
export type Composite = { $: string; [field: string]: unknown };

export function specOf(d: Described): Spec | undefined {
  const code = d.code;
  if (code !== undefined) return BY_CODE.get(code);
  return BY_SYMBOL.get((d.descriptor as Sym).value);
}

/** a described value of a known composite type as an object, or undefined */
export function toComposite(v: AmqpValue): Composite | undefined {
  if (!(v instanceof Described)) return undefined;
  const spec = specOf(v);
  if (!spec) return undefined;
  const items = v.value;
  if (items === null || items === undefined) return { $: spec.name };
  if (!Array.isArray(items)) throw new Amqp10DecodeError(`${spec.name} must be a list`);
  const out: Composite = { $: spec.name };
  const n = Math.min(items.length, spec.fields.length);
  for (let i = 0; i < n; i++) {
    const raw = items[i];
    if (raw === null || raw === undefined) continue;
    const [name, type] = spec.fields[i]!;
    out[name] = fieldValue(spec.name, name, type, raw);
  }
  return out;
}

function fieldValue(owner: string, name: string, type: FieldType, raw: AmqpValue): unknown {
  switch (type) {
    case 'symbol':
      if (raw instanceof Sym) return raw.value;
      if (typeof raw === 'string') return raw;
      throw new Amqp10DecodeError(`${owner}.${name} must be a symbol`);
    case 'symbols':
      if (raw instanceof Sym) return [raw.value];
      if (Array.isArray(raw)) return raw.map((x) => (x instanceof Sym ? x.value : String(x)));
      throw new Amqp10DecodeError(`${owner}.${name} must be symbols`);
    case 'string':
      if (typeof raw !== 'string') throw new Amqp10DecodeError(`${owner}.${name} must be a string`);
      return raw;
    case 'boolean':
      if (typeof raw !== 'boolean') throw new Amqp10DecodeError(`${owner}.${name} must be a boolean`);
      return raw;
    case 'ubyte':
    case 'ushort':
    case 'uint':
      if (typeof raw !== 'number' || raw < 0) throw new Amqp10DecodeError(`${owner}.${name} must be an unsigned integer`);
      return raw;
    case 'ulong':
      if (typeof raw !== 'number' && typeof raw !== 'bigint') throw new Amqp10DecodeError(`${owner}.${name} must be an unsigned integer`);
      return raw;
    case 'binary':
      if (!Buffer.isBuffer(raw)) throw new Amqp10DecodeError(`${owner}.${name} must be binary`);
      return raw;
    case 'timestamp':
      if (!(raw instanceof Date)) throw new Amqp10DecodeError(`${owner}.${name} must be a timestamp`);
      return raw;
    default:
      // a nested composite (source, target, error, delivery state) becomes an object too
      return toComposite(raw) ?? raw;
  }
}

/** write `obj` as its described composite */
export function writeComposite(e: Encoder, obj: Composite): void {
  const spec = BY_NAME.get(obj.$);
  if (!spec) throw new Error(`unknown composite type ${obj.$}`);
  e.byte(0x00);
  e.ulong(spec.code);
  let last = -1;
  for (let i = 0; i < spec.fields.length; i++) {
    const v = obj[spec.fields[i]![0]];
    if (v !== undefined && v !== null) last = i;
  }
  if (last < 0) {
    e.byte(0x45);
    return;
  }
  e.compound(0xc0, 0xd0, last + 1, () => {
    for (let i = 0; i <= last; i++) {
      const [name, type] = spec.fields[i]!;
      writeField(e, type, obj[name]);
    }
  });
}

function writeField(e: Encoder, type: FieldType, v: unknown): void {
  if (v === undefined || v === null) return e.byte(0x40);
  // a value that carries its own type is written as it says
  if (v instanceof Typed) return e.value(v);
  if (type === 'symbols') {
    const list = Array.isArray(v) ? v : [v];
    return e.array('symbol', list.map((x) => (x instanceof Sym ? x.value : String(x))));
  }
  if (type === 'any') {
    if (isComposite(v)) return writeComposite(e, v);
    return e.value(v as AmqpValue);
  }
  e.typed(type, v);
}

function isComposite(v: unknown): v is Composite {
  return typeof v === 'object' && v !== null && typeof (v as Composite).$ === 'string' && !Buffer.isBuffer(v);
}

// ---- the shapes the connection works with ------------------------------------------

export interface AmqpErrorShape {
  $: 'error';
  condition: string;
  description?: string;
  info?: AmqpValue;
}

export interface Terminus {
  $: 'source' | 'target' | 'coordinator';
  address?: string;
  durable?: number;
  expiryPolicy?: string;
  timeout?: number;
  dynamic?: boolean;
  dynamicNodeProperties?: AmqpValue;
  distributionMode?: string;
  filter?: AmqpValue;
  defaultOutcome?: Composite;
  outcomes?: string[];
  capabilities?: string[];
}

export interface Open {
  $: 'open';
  containerId: string;
  hostname?: string;
  maxFrameSize?: number;
  channelMax?: number;
  idleTimeOut?: number;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  properties?: AmqpValue;
}

export interface Begin {
  $: 'begin';
  remoteChannel?: number;
  nextOutgoingId: number;
  incomingWindow: number;
  outgoingWindow: number;
  handleMax?: number;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  properties?: AmqpValue;
}

export interface Attach {
  $: 'attach';
  name: string;
  handle: number;
  /** false: the peer is a sender; true: a receiver */
  role: boolean;
  sndSettleMode?: number;
  rcvSettleMode?: number;
  source?: Terminus;
  target?: Terminus;
  unsettled?: AmqpValue;
  incompleteUnsettled?: boolean;
  initialDeliveryCount?: number;
  maxMessageSize?: number | bigint;
  offeredCapabilities?: string[];
  desiredCapabilities?: string[];
  properties?: AmqpValue;
}

export interface Flow {
  $: 'flow';
  nextIncomingId?: number;
  incomingWindow: number;
  nextOutgoingId: number;
  outgoingWindow: number;
  handle?: number;
  deliveryCount?: number;
  linkCredit?: number;
  available?: number;
  drain?: boolean;
  echo?: boolean;
  properties?: AmqpValue;
}

export interface Transfer {
  $: 'transfer';
  handle: number;
  deliveryId?: number;
  deliveryTag?: Buffer;
  messageFormat?: number;
  settled?: boolean;
  more?: boolean;
  rcvSettleMode?: number;
  state?: Composite;
  resume?: boolean;
  aborted?: boolean;
  batchable?: boolean;
}

export interface Disposition {
  $: 'disposition';
  role: boolean;
  first: number;
  last?: number;
  settled?: boolean;
  state?: Composite;
  batchable?: boolean;
}

export interface Detach {
  $: 'detach';
  handle: number;
  closed?: boolean;
  error?: AmqpErrorShape;
}

export interface End {
  $: 'end';
  error?: AmqpErrorShape;
}

export interface Close {
  $: 'close';
  error?: AmqpErrorShape;
}

export type Performative = Open | Begin | Attach | Flow | Transfer | Disposition | Detach | End | Close;

const REQUIRED: Record<string, string[]> = {
  open: ['containerId'],
  begin: ['nextOutgoingId', 'incomingWindow', 'outgoingWindow'],
  attach: ['name', 'handle', 'role'],
  flow: ['incomingWindow', 'nextOutgoingId', 'outgoingWindow'],
  transfer: ['handle'],
  disposition: ['role', 'first'],
  detach: ['handle'],
  'sasl-init': ['mechanism'],
  'sasl-response': ['response'],
};

/** a frame body's composite, its mandatory fields checked */
export function checkMandatory(c: Composite): Composite {
  for (const f of REQUIRED[c.$] ?? []) {
    if (c[f] === undefined) throw new Amqp10DecodeError(`${c.$} is missing its mandatory field ${f}`);
  }
  return c;
}
