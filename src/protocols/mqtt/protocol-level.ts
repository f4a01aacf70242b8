import type { Duplex } from 'node:stream';

/** CONNACK, return code 1: unacceptable protocol version */
const CONNACK_BAD_VERSION = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/** bytes a CONNECT needs before its protocol level: fixed header (≤ 5) + name length + name */
const MAX_PREFIX = 5 + 2 + 6 + 1;

/**
 * The protocol level of the CONNECT at the start of `buf`: a number, 'more' while too few
 * bytes have come, or 'other' when the stream does not start with an MQTT CONNECT (aedes
 * then deals with it).
 */
export function connectProtocolLevel(buf: Buffer): number | 'more' | 'other' {
  if (buf.length === 0) return 'more';
  if (buf[0] !== 0x10) return 'other';
  let pos = 1;
  for (let i = 0; i < 4; i++, pos++) {
    if (pos >= buf.length) return 'more';
    if ((buf[pos]! & 0x80) === 0) break;
  }
  pos++;
  if (pos + 2 > buf.length) return 'more';
  const nameLength = buf.readUInt16BE(pos);
  pos += 2;
  if (nameLength !== 4 && nameLength !== 6) return 'other';
  if (pos + nameLength + 1 > buf.length) return 'more';
  const name = buf.toString('latin1', pos, pos + nameLength);
  if (name !== 'MQTT' && name !== 'MQIsdp') return 'other';
  return buf[pos + nameLength]!;
}

/**
 * aedes's packet parser drops a connection whose CONNECT names a protocol level it cannot
 * parse (6, 2, …) without a word; Mosquitto answers those with CONNACK 1 (measured on
 * Mosquitto 2.0.11), as MQTT 3.1.1 §3.1.2.2 asks. Read just enough of the first packet to
 * tell, answer the ones aedes would drop, and hand every other stream on untouched.
 */
export function screenProtocolLevel(stream: Duplex, pass: () => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length ? Buffer.concat([seen, chunk]) : chunk;
    const level = connectProtocolLevel(seen);
    if (level === 'more' && seen.length < MAX_PREFIX) return;
    stream.off('data', onData);
    stream.pause();
    if (typeof level === 'number' && ![3, 4, 5].includes(level & 0x7f)) {
      stream.end(CONNACK_BAD_VERSION);
      return;
    }
    stream.unshift(seen);
    pass();
  };
  stream.on('data', onData);
  stream.once('error', () => stream.destroy());
}
