/** The shape aedes passes packets around in (aedes-packet's fields). */
export interface AedesPacket {
  cmd: string;
  topic?: string;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
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
export interface StoredPacket {
  cmd: string;
  topic?: string;
  payload?: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
}

export function toStored(p: AedesPacket): StoredPacket {
  const s: StoredPacket = { cmd: p.cmd };
  if (p.topic !== undefined) s.topic = p.topic;
  if (p.payload !== undefined) s.payload = (typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload).toString('base64');
  if (p.qos !== undefined) s.qos = p.qos;
  if (p.retain !== undefined) s.retain = p.retain;
  if (p.dup !== undefined) s.dup = p.dup;
  if (p.messageId !== undefined) s.messageId = p.messageId;
  if (p.brokerId !== undefined) s.brokerId = p.brokerId;
  if (p.brokerCounter !== undefined) s.brokerCounter = p.brokerCounter;
  if (p.clientId !== undefined) s.clientId = p.clientId;
  return s;
}

export function fromStored(s: StoredPacket): AedesPacket {
  const p: AedesPacket = { ...s, payload: undefined };
  if (s.payload !== undefined) p.payload = Buffer.from(s.payload, 'base64');
  else delete p.payload;
  return p;
}
