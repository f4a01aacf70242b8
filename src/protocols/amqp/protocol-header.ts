import type { Socket } from 'node:net';

/** what the first bytes of an AMQP port say the client speaks */
export type AmqpVersion = '0-9-1' | '1.0';

/**
 * RabbitMQ 4 serves AMQP 0-9-1 and AMQP 1.0 on one port and tells them apart by the
 * protocol header: `AMQP 3 1 0 0` (SASL) and `AMQP 0 1 0 0` are AMQP 1.0, anything else
 * goes to the AMQP 0-9-1 side (which answers a header it does not speak with its own).
 * Reads just enough bytes to decide, puts them back, and hands the socket on.
 */
export function sniffAmqpVersion(socket: Socket, route: (version: AmqpVersion) => void, handshakeTimeoutMs: number): void {
  let seen: Buffer = Buffer.alloc(0);
  // a client that sends no header is dropped, as the handshake timeout drops it
  const timer = setTimeout(() => socket.destroy(), handshakeTimeoutMs);
  timer.unref();
  const decide = (version: AmqpVersion) => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    socket.unshift(seen);
    route(version);
    socket.resume();
  };
  const onData = (chunk: Buffer) => {
    seen = seen.length ? Buffer.concat([seen, chunk]) : chunk;
    const version = versionOf(seen);
    if (version) decide(version);
  };
  const onClose = () => clearTimeout(timer);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', () => undefined);
}

const AMQP = Buffer.from('AMQP', 'latin1');

/** the version, once enough bytes are in to know it */
function versionOf(b: Buffer): AmqpVersion | undefined {
  const n = Math.min(b.length, 8);
  // AMQP 1.0 is `AMQP` then 0 or 3, then 1 0 0: any byte off that path means 0-9-1 (or junk)
  const expected = [...AMQP, -1, 1, 0, 0];
  for (let i = 0; i < n; i++) {
    if (i === 4) {
      if (b[4] !== 0 && b[4] !== 3) return '0-9-1';
      continue;
    }
    if (b[i] !== expected[i]) return '0-9-1';
  }
  return n === 8 ? '1.0' : undefined;
}
