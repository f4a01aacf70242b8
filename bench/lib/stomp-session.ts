import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { createFrame, getHeader, serializeFrame, StompParser } from '../../src/protocols/stomp/codec/index.js';
import type { StompFrame, StompHeader } from '../../src/protocols/stomp/codec/index.js';

/**
 * A bare STOMP 1.2 client over a TCP socket, for the bench: the same code
 * drives every broker, costs little per frame (LocalMQ's own parser; SEND
 * frames are pre-serialised by the scenario), and exposes the socket's
 * backpressure. URL: stomp://login:passcode@host:port[/vhost]; without a path
 * the `host` header is '/', the default vhost of RabbitMQ and LocalMQ.
 */
export class StompBenchClient {
  /** The CONNECTED frame's `server` header, e.g. 'RabbitMQ/3.10.8'. */
  server: string | undefined;
  /** Called for every MESSAGE frame, synchronously from the socket's data handler. */
  onMessage: ((frame: StompFrame) => void) | null = null;
  /** Called for every RECEIPT whose id was not made by request() (a scenario's own receipts). */
  onReceipt: ((id: string) => void) | null = null;
  /** Rejects on an ERROR frame, a socket error or an unexpected close. Never resolves. */
  readonly failed: Promise<never>;

  private readonly parser: StompParser;
  private fail!: (err: Error) => void;
  private closing = false;
  private nextReceipt = 0;
  private readonly receipts = new Map<string, () => void>();
  private connected: ((frame: StompFrame) => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly label: string,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    // Waiters attach later; an unobserved rejection must not crash the process.
    this.failed.catch(() => undefined);
    this.parser = new StompParser({ onFrame: (f) => this.onFrame(f) }, { version: '1.2' });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.parser.push(chunk);
      } catch (err) {
        this.fail(new Error(`${label}: unparsable frame from the broker: ${(err as Error).message}`));
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.fail(new Error(`${label} socket error: ${err.message}`)));
    socket.on('close', () => {
      if (!this.closing) this.fail(new Error(`${label} connection closed unexpectedly`));
    });
  }

  static async connect(url: string, label: string): Promise<StompBenchClient> {
    const u = new URL(url);
    const socket = netConnect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 61613) });
    const client = new StompBenchClient(socket, label);
    await Promise.race([once(socket, 'connect'), client.failed]);
    const vhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
    const connected = new Promise<StompFrame>((resolve) => (client.connected = resolve));
    client.write(
      client.frame('CONNECT', [
        ['accept-version', '1.2'],
        ['host', vhost],
        ['login', decodeURIComponent(u.username || 'guest')],
        ['passcode', decodeURIComponent(u.password || 'guest')],
        ['heart-beat', '0,0'],
      ]),
    );
    const frame = await Promise.race([connected, client.failed]);
    client.server = getHeader(frame, 'server');
    return client;
  }

  /** A 1.2 frame's bytes; content-length is added for a non-empty body. */
  frame(command: string, headers: StompHeader[], body?: Buffer): Buffer {
    return serializeFrame(createFrame(command, headers, body), '1.2');
  }

  /** Writes raw frame bytes; false when the socket's buffer is full (wait for drained()). */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  drained(): Promise<unknown> {
    return Promise.race([once(this.socket, 'drain'), this.failed]);
  }

  /** Sends a frame with a `receipt` header and resolves when the broker's RECEIPT arrives. */
  async request(command: string, headers: StompHeader[]): Promise<void> {
    const id = `r-${this.nextReceipt++}`;
    const done = new Promise<void>((resolve) => this.receipts.set(id, resolve));
    this.write(this.frame(command, [...headers, ['receipt', id]]));
    await Promise.race([done, this.failed]);
  }

  /** DISCONNECT with a receipt (so the broker has read everything before), then close. Safe after a failure. */
  async close(): Promise<void> {
    if (this.closing) return;
    try {
      if (!this.socket.destroyed) {
        const bye = this.request('DISCONNECT', []);
        this.closing = true;
        await Promise.race([bye, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      }
    } catch {
      // already failed: nothing left to say goodbye to
    } finally {
      this.closing = true;
      this.socket.destroy();
    }
  }

  private onFrame(frame: StompFrame): void {
    switch (frame.command) {
      case 'MESSAGE':
        this.onMessage?.(frame);
        return;
      case 'RECEIPT': {
        const id = getHeader(frame, 'receipt-id') ?? '';
        const resolve = this.receipts.get(id);
        if (!resolve) {
          this.onReceipt?.(id);
          return;
        }
        this.receipts.delete(id);
        resolve();
        return;
      }
      case 'CONNECTED': {
        const resolve = this.connected;
        this.connected = null;
        resolve?.(frame);
        return;
      }
      case 'ERROR':
        this.fail(new Error(`${this.label}: ERROR frame: ${getHeader(frame, 'message') ?? ''} ${frame.body.toString('utf8').trim()}`));
        return;
    }
  }
}
