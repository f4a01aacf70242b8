import { connect as netConnect, type Socket } from 'node:net';
import * as stompit from 'stompit';
import type { LocalMQ } from '../../src/index.js';
import { StompParser, getHeader, headersToObject, type StompFrame, type StompVersion } from '../../src/protocols/stomp/codec/index.js';

/** the broker's STOMP TCP port */
export function stompPort(broker: LocalMQ): number {
  return Number(new URL(broker.urls.stomp!).port);
}

/** a stompit client logged in as guest on vhost '/' (stompit's default host header, the TCP host name, names no vhost: RabbitMQ refuses it) */
export function stompitConnect(broker: LocalMQ, connectHeaders: stompit.Headers = {}): Promise<stompit.Client> {
  return new Promise((resolve, reject) => {
    stompit.connect(
      { host: '127.0.0.1', port: stompPort(broker), connectHeaders: { host: '/', login: 'guest', passcode: 'guest', 'heart-beat': '0,0', ...connectHeaders } },
      (err, client) => {
        if (err) return reject(err);
        // a broker stopping at the end of a file sends ERROR to clients still connected; stompit
        // throws an ERROR nobody listens to, so keep one listener (tests that expect errors add theirs)
        client.on('error', () => undefined);
        resolve(client);
      },
    );
  });
}

export interface ReceivedMessage {
  headers: Record<string, string>;
  body: string;
  raw: stompit.IncomingMessage;
}

/** subscribe and collect messages; `next()` resolves with the next one to arrive */
export function stompitSubscribe(client: stompit.Client, headers: stompit.Headers) {
  const queue: ReceivedMessage[] = [];
  const waiters: ((m: ReceivedMessage) => void)[] = [];
  const subscription = client.subscribe(headers, (err, message) => {
    if (err) return;
    message.readString('utf-8', (e, body) => {
      if (e) return;
      const m = { headers: message.headers, body: body ?? '', raw: message };
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
  });
  return {
    subscription,
    next(): Promise<ReceivedMessage> {
      const m = queue.shift();
      if (m) return Promise.resolve(m);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** send with a receipt and resolve once the broker confirmed it */
export function stompitSend(client: stompit.Client, headers: stompit.Headers, body: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const frame = client.send(headers, { onReceipt: () => resolve(), onError: reject });
    frame.end(body);
  });
}

export function stompitDisconnect(client: stompit.Client): Promise<void> {
  return new Promise((resolve, reject) => client.disconnect((err) => (err ? reject(err) : resolve())));
}

/** an EOL-free frame in wire form, from readable parts */
export function wireFrame(command: string, headers: Record<string, string> | [string, string][] = {}, body: string | Buffer = '', eol = '\n'): Buffer {
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  const head = command + eol + list.map(([k, v]) => `${k}:${v}${eol}`).join('') + eol;
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), Buffer.from([0])]);
}

/**
 * A raw-socket STOMP client, for what no client library lets a test say:
 * malformed frames, odd versions, escapes, CRLF, heart-beats. Server frames
 * are parsed with the codec; `frame(command)` waits for the next one.
 */
export class RawStomp {
  readonly frames: StompFrame[] = [];
  heartbeats = 0;
  closed = false;
  private waiters: (() => void)[] = [];
  private readonly parser: StompParser;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    this.parser = new StompParser({
      onFrame: (f) => this.frames.push({ ...f, body: Buffer.from(f.body) }),
      onHeartbeat: () => this.heartbeats++,
    });
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      this.parser.push(chunk);
      this.wake();
    });
  }

  /** a broker's STOMP listener, or a port (a broker in a child process) */
  static open(broker: LocalMQ | number): Promise<RawStomp> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ port: typeof broker === 'number' ? broker : stompPort(broker), host: '127.0.0.1' }, () => resolve(new RawStomp(s)));
      s.once('error', reject);
    });
  }

  /** open and log in; resolves with the CONNECTED frame */
  static async connected(broker: LocalMQ | number, headers: Record<string, string> = {}): Promise<{ client: RawStomp; connected: StompFrame }> {
    const client = await RawStomp.open(broker);
    client.write(wireFrame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest', ...headers }));
    const connected = await client.frame('CONNECTED');
    return { client, connected };
  }

  /** parse what the server sends by this version's rules (after CONNECTED) */
  useVersion(v: StompVersion): void {
    this.parser.setVersion(v);
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  send(command: string, headers: Record<string, string> | [string, string][] = {}, body: string | Buffer = ''): void {
    this.write(wireFrame(command, headers, body));
  }

  /** the next frame from the server; with `command`, that command is expected */
  async frame(command?: string): Promise<StompFrame> {
    for (;;) {
      const f = this.frames.shift();
      if (f) {
        if (command !== undefined && f.command !== command) {
          throw new Error(`expected ${command}, got ${f.command} ${JSON.stringify(headersToObject(f))} ${f.body.toString()}`);
        }
        return f;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${command ?? 'a frame'}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** wait for RECEIPT receipt-id:id; other frames (deliveries racing it) stay queued */
  async receipt(id: string): Promise<void> {
    for (;;) {
      const i = this.frames.findIndex((f) => f.command === 'RECEIPT' || f.command === 'ERROR');
      if (i >= 0) {
        const [f] = this.frames.splice(i, 1);
        if (f!.command === 'ERROR') throw new Error(`ERROR instead of receipt ${id}: ${getHeader(f!, 'message')} ${f!.body.toString()}`);
        if (getHeader(f!, 'receipt-id') !== id) throw new Error(`receipt ${getHeader(f!, 'receipt-id')} instead of ${id}`);
        return;
      }
      if (this.closed) throw new Error(`connection closed while waiting for receipt ${id}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** wait until `n` heart-beat EOLs arrived */
  async heartbeatsReceived(n: number): Promise<void> {
    while (this.heartbeats < n) {
      if (this.closed) throw new Error('closed before the heart-beats');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/**
 * ActiveMQ dialect, STOMP 1.2: a persistent message sent to `/queue/<queue>`, taken by a client-individual
 * subscription `p` and NACKed, so that the broker moves it to ActiveMQ.DLQ (its poison path)
 */
export async function nackToActiveMqDlq(client: RawStomp, queue: string): Promise<void> {
  client.send('SEND', { destination: `/queue/${queue}`, persistent: 'true', receipt: 's1' }, 'bad');
  await client.receipt('s1');
  client.send('SUBSCRIBE', { destination: `/queue/${queue}`, id: 'p', ack: 'client-individual' });
  const m = await client.frame('MESSAGE');
  client.send('NACK', { id: getHeader(m, 'ack')!, receipt: 'n1' });
  await client.receipt('n1');
}

export { getHeader, headersToObject };
