import { connect, type Socket } from 'node:net';
import { FrameReader } from '../../src/protocols/openwire/codec/framing.js';
import { decodeFrame, encodeFrame, type OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';

const WIRE = { version: 12, stackTraceEnabled: true };

/** A bare OpenWire client over our own codec, for raw protocol tests. */
export class RawOpenWire {
  /** what came and was not taken by next() yet (a frame a waiter took stays) */
  readonly received: OwStruct[] = [];
  /** everything that came, in order */
  readonly log: OwStruct[] = [];
  private waiters: { match: (s: OwStruct) => boolean; resolve: (s: OwStruct) => void }[] = [];
  readonly closed: Promise<void>;
  private nextId = 1;
  /** the ConnectionId value it connected as (connected()) */
  connectionId = '';

  private constructor(readonly socket: Socket) {
    const frames = new FrameReader(1 << 24);
    socket.on('data', (chunk: Buffer) =>
      frames.push(chunk, (body) => {
        const s = decodeFrame(body, WIRE);
        this.received.push(s);
        this.log.push(s);
        for (const w of [...this.waiters]) {
          if (w.match(s)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(s);
          }
        }
      }),
    );
    this.closed = new Promise((r) => socket.on('close', () => r()));
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawOpenWire> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawOpenWire(socket);
  }

  /** both WireFormatInfos exchanged and a ConnectionInfo answered */
  static async connected(port: number, user = 'guest', password = 'guest'): Promise<RawOpenWire> {
    const c = await RawOpenWire.open(port);
    await c.next((s) => s.type === T.WireFormatInfo);
    c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 24, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'test' }));
    c.connectionId = `ID:raw-${Math.random()}`;
    await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: c.connectionId }, userName: user, password });
    return c;
  }

  write(s: OwStruct): void {
    this.socket.write(encodeFrame(s, WIRE));
  }

  /** send with responseRequired and wait for the Response or ExceptionResponse */
  request(s: OwStruct): Promise<OwStruct> {
    const commandId = this.nextId++;
    const answer = this.next((r) => (r.type === T.Response || r.type === T.ExceptionResponse) && r['correlationId'] === commandId);
    this.write({ ...s, commandId, responseRequired: true });
    return answer;
  }

  /**
   * A session and a producer on queue `queue`, as connection id `conn`; returns the producer's
   * n-th message: a non-persistent BytesMessage carrying `body`.
   */
  async producer(conn: string, queue: string): Promise<(n: number, body: string) => OwStruct> {
    const destination = { type: T.Queue, physicalName: queue };
    const producerId = { type: T.ProducerId, connectionId: conn, value: 1, sessionId: 1 };
    await this.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: conn, value: 1 } });
    await this.request({ type: T.ProducerInfo, producerId, destination });
    return (n, body) => ({
      type: T.BytesMessage,
      producerId,
      destination,
      messageId: { type: T.MessageId, textView: null, producerId, producerSequenceId: n + 1, brokerSequenceId: 0 },
      persistent: false,
      priority: 4,
      content: Buffer.from(body),
    });
  }

  /** the commands as one-way sends (no Response asked), in one write */
  writeOneWay(commands: OwStruct[]): void {
    this.socket.write(Buffer.concat(commands.map((c) => encodeFrame({ ...c, commandId: this.nextId++, responseRequired: false }, WIRE))));
  }

  next(match: (s: OwStruct) => boolean): Promise<OwStruct> {
    const seen = this.received.find(match);
    if (seen) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): void {
    this.socket.destroy();
  }
}
