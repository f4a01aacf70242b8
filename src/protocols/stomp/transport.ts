import type { Socket } from 'node:net';
import { TickCork } from '../tick-cork.js';
import type { WebSocket } from 'ws';

/** socket buffer above which subscriptions stop being handed messages until it drains */
const WRITE_HIGH_WATER = 1024 * 1024;

export interface TransportEvents {
  data(chunk: Buffer): void;
  /** the socket buffer emptied: deliveries may resume */
  drain(): void;
  /** the connection is gone, whoever closed it */
  closed(): void;
}

/**
 * The byte pipe a STOMP session runs over: a TCP socket, or a WebSocket
 * carrying one frame per message. The session code is the same for both.
 */
export interface StompTransport {
  readonly kind: 'tcp' | 'ws';
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  start(events: TransportEvents): void;
  write(bytes: Buffer): void;
  /** true while the outgoing buffer is over the high-water mark */
  readonly backedUp: boolean;
  /** stop / restart reading (flow control while the broker is alarmed) */
  pause(): void;
  resume(): void;
  /** close after what was written is flushed */
  end(): void;
  destroy(): void;
}

/** STOMP straight over TCP; writes in one event-loop turn leave in one syscall */
export class TcpTransport implements StompTransport {
  readonly kind = 'tcp' as const;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  private readonly cork: TickCork;

  constructor(private readonly socket: Socket) {
    this.cork = new TickCork(socket);
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    socket.setNoDelay(true);
  }

  start(events: TransportEvents): void {
    const s = this.socket;
    s.on('data', (chunk: Buffer) => events.data(chunk));
    s.on('drain', () => events.drain());
    s.on('error', () => undefined);
    s.on('close', () => events.closed());
  }

  write(bytes: Buffer): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    this.cork.cork();
    s.write(bytes);
  }

  get backedUp(): boolean {
    return this.socket.writableLength > WRITE_HIGH_WATER;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * STOMP over WebSocket (RabbitMQ's web-stomp): frames go out as binary
 * messages, so bodies that are not UTF-8 arrive intact; incoming text or
 * binary messages feed the same parser (a frame may even span messages).
 * Backpressure is read off the underlying TCP socket.
 */
export class WebSocketTransport implements StompTransport {
  readonly kind = 'ws' as const;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined = socket.remotePort,
  ) {}

  start(events: TransportEvents): void {
    this.ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (Buffer.isBuffer(data)) events.data(data);
      else if (Array.isArray(data)) events.data(Buffer.concat(data));
      else events.data(Buffer.from(data));
    });
    this.socket.on('drain', () => events.drain());
    this.ws.on('error', () => undefined);
    this.ws.on('close', () => events.closed());
  }

  write(bytes: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(bytes, { binary: true });
  }

  get backedUp(): boolean {
    return this.ws.bufferedAmount > WRITE_HIGH_WATER;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  end(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }
}
