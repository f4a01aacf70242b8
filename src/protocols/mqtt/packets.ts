/** the fields aedes-packet keeps, the payload aside (its form differs in memory and in the store) */
interface PacketFields {
  cmd: string;
  topic?: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
}

/** The shape aedes passes packets around in (aedes-packet's fields). */
export interface AedesPacket extends PacketFields {
  payload?: Buffer | string;
  [extra: string]: unknown;
}

/**
 * A copy of a packet as queued for a client: the fields aedes-packet keeps, with the
 * packet identifier unassigned (it is given when the packet is sent).
 */
export function queuedCopy(p: AedesPacket, brokerId: string | undefined): AedesPacket {
  const copy: AedesPacket = {
    cmd: p.cmd || 'publish',
    brokerId: p.brokerId || brokerId,
    brokerCounter: p.brokerCounter || 0,
    topic: p.topic,
    payload: p.payload || Buffer.alloc(0),
    qos: p.qos || 0,
    retain: p.retain || false,
    dup: p.dup || false,
  };
  for (const k of ['clientId', 'nl', 'properties', 'messageExpiry']) {
    if (Object.prototype.hasOwnProperty.call(p, k)) copy[k] = p[k];
  }
  if (copy.qos! > 0 || copy.cmd !== 'publish') copy.messageId = undefined;
  return copy;
}

/** JSON-safe form for the store's keyed records (payloads as base64) */
export interface StoredPacket extends PacketFields {
  payload?: string;
}

/** the fields after the payload that go to the store as they are (in the records' key order) */
const STORED_AS_IS = ['qos', 'retain', 'dup', 'messageId', 'brokerId', 'brokerCounter', 'clientId'] as const;

export function toStored(p: AedesPacket): StoredPacket {
  const s: StoredPacket = { cmd: p.cmd };
  if (p.topic !== undefined) s.topic = p.topic;
  if (p.payload !== undefined) s.payload = (typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload).toString('base64');
  for (const k of STORED_AS_IS) if (p[k] !== undefined) copyField(p, s, k);
  return s;
}

function copyField<K extends keyof PacketFields>(from: PacketFields, to: PacketFields, k: K): void {
  to[k] = from[k];
}

export function fromStored(s: StoredPacket): AedesPacket {
  const p: AedesPacket = { ...s, payload: undefined };
  if (s.payload !== undefined) p.payload = Buffer.from(s.payload, 'base64');
  else delete p.payload;
  return p;
}
