/**
 * The soak's traffic, one lane per protocol: a publisher that waits for the broker's
 * confirm (AMQP publisher confirms, STOMP receipts, MQTT PUBACK, AMQP 1.0 accepted outcome,
 * OpenWire Response), a consumer that acks most messages, requeues some once and rejects some
 * to the dead-letter queue (where the protocol has it), per-message TTLs that expire into the
 * dead-letter queue (AMQP 0-9-1, STOMP, AMQP 1.0; MQTT has no dead-lettering and the OpenWire
 * lane's queue none), and a reconnect loop that carries each lane through the broker's restart. A dead-letter reader and a connect/disconnect churn
 * lane complete it. Everything books into soak-ledger.ts.
 */
import { connect as netConnect, type Socket } from 'node:net';
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import rhea, { type Connection as RheaConnection, type EventContext } from 'rhea';
import { getHeader, serializeFrame, StompParser, type StompFrame, type StompHeader } from '../../src/protocols/stomp/codec/index.js';
import { FrameReader } from '../../src/protocols/openwire/codec/framing.js';
import { decodeFrame, encodeFrame, type OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { AckType, T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';
import { textContent, textOf } from '../../src/protocols/openwire/message-map.js';
import { Books, type Ledger } from './soak-ledger.js';

export interface SoakTarget {
  host: string;
  /** AMQP 0-9-1 and 1.0 on base, STOMP base+1, MQTT base+2, OpenWire base+3 */
  base: number;
}

export interface LaneOptions {
  target: SoakTarget;
  books: Books;
  /** messages per second per lane */
  rate: number;
  /** unconfirmed messages a publisher may have out */
  window: number;
  log: (msg: string) => void;
}

export const QUEUES = { amqp: 'soak.amqp', ttl: 'soak.ttl', stomp: 'soak.stomp', amqp10: 'soak.amqp10', openwire: 'soak.openwire', dlq: 'soak.dlq', activemqDlq: 'ActiveMQ.DLQ' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** resolves once `cond()` holds (polled every 100 ms) */
function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      }
    }, 100);
  });
}

export abstract class Lane {
  abstract readonly name: string;
  publishing = true;
  closed = false;
  connects = 0;
  readonly errors: string[] = [];
  private paceTokens = 0;

  constructor(protected readonly o: LaneOptions) {}

  abstract ledger: Ledger;
  /** one connected session: resolves when its connections are gone */
  protected abstract session(): Promise<void>;

  /** keep a session up until close(): reconnect after each drop */
  async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.session();
      } catch (err) {
        if (!this.closed) this.errors.push(`${(err as Error).message}`.slice(0, 200));
      }
      this.ledger.dropped();
      if (!this.closed) await sleep(250);
    }
  }

  /** a publisher and a subscriber connection; the first is dropped again if the second fails */
  protected async openPair<A, B>(first: () => Promise<A>, second: () => Promise<B>, drop: (a: A) => unknown): Promise<[A, B]> {
    const a = await first();
    try {
      return [a, await second()];
    } catch (e) {
      await drop(a);
      throw e;
    }
  }

  /**
   * A session is up (counted once): `alive` until `gone` resolves (its connections dropped)
   * or the lane closes, which `ended` waits for.
   */
  protected connected(gone: Promise<unknown>): { alive: boolean; ended: Promise<void> } {
    this.connects++;
    const life = { alive: true, ended: Promise.resolve() };
    life.ended = Promise.race([gone, until(() => this.closed)]).then(() => {
      life.alive = false;
    });
    void gone.then(() => (life.alive = false));
    return life;
  }

  /** call `send` at the lane's rate while publishing and the window has room */
  protected async publishLoop(alive: () => boolean, send: () => void): Promise<void> {
    let last = Date.now();
    while (alive() && !this.closed) {
      await sleep(10);
      const now = Date.now();
      this.paceTokens = Math.min(this.o.rate, this.paceTokens + ((now - last) * this.o.rate) / 1000);
      last = now;
      while (this.publishing && alive() && this.paceTokens >= 1 && this.ledger.unconfirmed < this.o.window) {
        this.paceTokens--;
        send();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** resolves when any of the emitters closes */
function closedOf(...emitters: { once(event: string, fn: (...a: unknown[]) => void): unknown }[]): Promise<void> {
  return new Promise((resolve) => {
    for (const e of emitters) {
      e.once('close', () => resolve());
      e.once('error', () => resolve());
    }
  });
}

// ---- AMQP 0-9-1 ----------------------------------------------------------------------

export class AmqpLane extends Lane {
  readonly name = 'amqp-0-9-1';
  ledger: Ledger;
  private conns: ChannelModel[] = [];

  constructor(o: LaneOptions) {
    super(o);
    this.ledger = o.books.lane(this.name);
  }

  /** queues every lane uses, declared once before the traffic starts */
  static async declare(t: SoakTarget): Promise<void> {
    const c = await amqplib.connect(`amqp://guest:guest@${t.host}:${t.base}`);
    const ch = await c.createChannel();
    const dlx = { deadLetterExchange: '', deadLetterRoutingKey: QUEUES.dlq };
    await ch.assertQueue(QUEUES.dlq, { durable: true });
    await ch.assertQueue(QUEUES.activemqDlq, { durable: true });
    await ch.assertQueue(QUEUES.amqp, { durable: true, ...dlx });
    await ch.assertQueue(QUEUES.ttl, { durable: true, messageTtl: 100, ...dlx });
    await ch.assertQueue(QUEUES.stomp, { durable: true, ...dlx });
    await ch.assertQueue(QUEUES.amqp10, { durable: true, ...dlx });
    await ch.assertQueue(QUEUES.openwire, { durable: true });
    await c.close();
  }

  protected async session(): Promise<void> {
    const url = `amqp://guest:guest@${this.o.target.host}:${this.o.target.base}`;
    const [pub, sub] = await this.openPair(
      () => amqplib.connect(url),
      () => amqplib.connect(url),
      (c) => c.close().catch(() => undefined),
    );
    this.conns = [pub, sub];
    for (const c of this.conns) c.on('error', () => undefined);
    const life = this.connected(closedOf(pub, sub));
    const ch: ConfirmChannel = await pub.createConfirmChannel();
    ch.on('error', () => undefined);
    const cch: Channel = await sub.createChannel();
    cch.on('error', () => undefined);
    await cch.prefetch(50);
    await cch.consume(QUEUES.amqp, (m) => {
      if (!m) return;
      const verdict = Books.verdict(m.content);
      if (verdict === 'requeue' && !m.fields.redelivered) return cch.nack(m, false, true);
      if (verdict === 'reject') return cch.nack(m, false, false);
      this.o.books.consumed(m.content, m.fields.redelivered);
      cch.ack(m);
    });
    const publishing = this.publishLoop(
      () => life.alive,
      () => {
        const { seq, body } = this.ledger.next();
        // every 20th to the TTL queue (no consumer: it must expire into the DLQ), every 13th with a 1 ms TTL of its own
        const queue = seq % 20 === 0 ? QUEUES.ttl : QUEUES.amqp;
        const opts = seq % 13 === 0 ? { persistent: true, expiration: '1' } : { persistent: true };
        try {
          // amqplib fails every outstanding callback when the connection drops: that is in doubt, not a nack
          ch.sendToQueue(queue, body, opts, (err) => {
            if (!err) this.ledger.confirm(seq);
            else if (/nack/i.test(String((err as Error).message ?? err))) this.ledger.refuse(seq);
          });
        } catch {
          life.alive = false;
        }
      },
    );
    await life.ended;
    await publishing;
    for (const c of this.conns) await c.close().catch(() => undefined);
  }
}

/** reads the dead-letter queues (AMQP), booking what arrives */
export class DeadLetterReader extends Lane {
  readonly name = 'dead-letters';
  ledger: Ledger;
  constructor(o: LaneOptions) {
    super(o);
    this.ledger = new Books().lane('unused');
  }

  protected async session(): Promise<void> {
    const c = await amqplib.connect(`amqp://guest:guest@${this.o.target.host}:${this.o.target.base}`);
    c.on('error', () => undefined);
    this.connects++;
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    await ch.prefetch(200);
    for (const q of [QUEUES.dlq, QUEUES.activemqDlq]) {
      await ch.consume(q, (m) => {
        if (!m) return;
        this.o.books.deadLettered(m.content);
        ch.ack(m);
      });
    }
    await new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      const t = setInterval(() => {
        if (this.closed) {
          clearInterval(t);
          void c.close().catch(() => undefined);
          resolve();
        }
      }, 100);
    });
  }
}

// ---- STOMP ---------------------------------------------------------------------------

/** a small STOMP 1.2 client on our own codec: frames in, frames out */
class StompClient {
  readonly closed: Promise<void>;
  onFrame: (f: StompFrame) => void = () => undefined;
  private constructor(readonly socket: Socket) {
    const parser = new StompParser({ onFrame: (f) => this.onFrame(f) }, { version: '1.2' });
    socket.on('data', (c: Buffer) => {
      try {
        parser.push(c);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static async open(t: SoakTarget): Promise<StompClient> {
    const s = netConnect({ host: t.host, port: t.base + 1 });
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const c = new StompClient(s);
    const connected = new Promise<void>((resolve, reject) => {
      c.onFrame = (f) => (f.command === 'CONNECTED' ? resolve() : reject(new Error(`STOMP ${f.command}: ${getHeader(f, 'message')}`)));
      c.closed.then(() => reject(new Error('STOMP closed during CONNECT')));
    });
    c.send('CONNECT', [['accept-version', '1.2'], ['host', '/'], ['login', 'guest'], ['passcode', 'guest'], ['heart-beat', '0,0']]);
    await connected;
    return c;
  }

  send(command: string, headers: StompHeader[], body?: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(serializeFrame({ command, headers, body: body ?? Buffer.alloc(0) }, '1.2'));
  }
}

export class StompLane extends Lane {
  readonly name = 'stomp';
  ledger: Ledger;
  constructor(o: LaneOptions) {
    super(o);
    this.ledger = o.books.lane(this.name);
  }

  protected async session(): Promise<void> {
    const [pub, sub] = await this.openPair(
      () => StompClient.open(this.o.target),
      () => StompClient.open(this.o.target),
      (c) => c.socket.destroy(),
    );
    const life = this.connected(Promise.race([pub.closed, sub.closed]));
    pub.onFrame = (f) => {
      if (f.command === 'RECEIPT') this.ledger.confirm(Number(getHeader(f, 'receipt-id')));
      else if (f.command === 'ERROR') pub.socket.destroy();
    };
    sub.onFrame = (f) => {
      if (f.command !== 'MESSAGE') return;
      const ack = getHeader(f, 'ack')!;
      const redelivered = getHeader(f, 'redelivered') === 'true';
      const verdict = Books.verdict(f.body);
      if (verdict === 'requeue' && !redelivered) return sub.send('NACK', [['id', ack]]);
      if (verdict === 'reject') return sub.send('NACK', [['id', ack], ['requeue', 'false']]);
      this.o.books.consumed(f.body, redelivered);
      sub.send('ACK', [['id', ack]]);
    };
    sub.send('SUBSCRIBE', [['id', '1'], ['destination', `/amq/queue/${QUEUES.stomp}`], ['ack', 'client-individual'], ['prefetch-count', '50']]);
    const publishing = this.publishLoop(
      () => life.alive,
      () => {
        const { seq, body } = this.ledger.next();
        const headers: StompHeader[] = [['destination', `/amq/queue/${QUEUES.stomp}`], ['persistent', 'true'], ['receipt', String(seq)], ['content-length', String(body.length)]];
        // every 13th with a 1 ms TTL (RabbitMQ's STOMP `expiration` header): consumed if it is quick, else expired into the DLQ
        if (seq % 13 === 0) headers.push(['expiration', '1']);
        pub.send('SEND', headers, body);
      },
    );
    await life.ended;
    await publishing;
    pub.send('DISCONNECT', []);
    sub.send('DISCONNECT', []);
    pub.socket.end();
    sub.socket.end();
  }
}

// ---- MQTT ----------------------------------------------------------------------------

export class MqttLane extends Lane {
  readonly name = 'mqtt';
  ledger: Ledger;
  constructor(o: LaneOptions) {
    super(o);
    // QoS 1 is at least once: a PUBLISH resent after a reconnect reaches subscribers again, unmarked
    this.ledger = o.books.lane(this.name, true);
  }

  protected async session(): Promise<void> {
    const url = `mqtt://${this.o.target.host}:${this.o.target.base + 2}`;
    const opts = { username: 'guest', password: 'guest', reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4 as const };
    const connect = (extra: object) =>
      new Promise<MqttClient>((resolve, reject) => {
        const c = mqtt.connect(url, { ...opts, ...extra });
        c.once('connect', () => resolve(c));
        c.once('error', (e) => {
          c.end(true);
          reject(e);
        });
        c.once('close', () => reject(new Error('MQTT closed before CONNACK')));
      });
    // a persistent session: what arrives while the subscriber is away (the restart) waits in it
    const [sub, pub] = await this.openPair(
      () => connect({ clientId: 'soak-mqtt-sub', clean: false }),
      () => connect({ clientId: `soak-mqtt-pub-${process.pid}`, clean: true }),
      (c) => c.end(true),
    );
    const life = this.connected(closedOf(sub, pub));
    sub.on('message', (_topic, payload, packet) => this.o.books.consumed(payload, packet.dup));
    await sub.subscribeAsync('soak/mqtt/#', { qos: 1 });
    const publishing = this.publishLoop(
      () => life.alive,
      () => {
        const { seq, body } = this.ledger.next();
        pub.publish(`soak/mqtt/${seq % 8}`, body, { qos: 1 }, (err) => {
          if (!err) this.ledger.confirm(seq);
        });
      },
    );
    await life.ended;
    await publishing;
    await pub.endAsync(true).catch(() => undefined);
    await sub.endAsync(true).catch(() => undefined);
  }
}

// ---- AMQP 1.0 ------------------------------------------------------------------------

export class Amqp10Lane extends Lane {
  readonly name = 'amqp-1.0';
  ledger: Ledger;
  constructor(o: LaneOptions) {
    super(o);
    this.ledger = o.books.lane(this.name);
  }

  protected async session(): Promise<void> {
    const container = rhea.create_container({ id: `soak-${process.pid}` });
    const conn: RheaConnection = container.connect({ host: this.o.target.host, port: this.o.target.base, username: 'guest', password: 'guest', reconnect: false, idle_time_out: 0 } as never);
    await new Promise<void>((resolve, reject) => {
      conn.once('connection_open', () => resolve());
      conn.once('disconnected', (ctx: EventContext) => reject(ctx.error ?? new Error('AMQP 1.0 disconnected before open')));
    });
    const life = this.connected(new Promise<void>((resolve) => conn.once('disconnected', () => resolve())));
    const address = `/queues/${QUEUES.amqp10}`;
    const sender = conn.open_sender({ target: { address } });
    const receiver = conn.open_receiver({ source: { address }, autoaccept: false, credit_window: 50 });
    const tags = new Map<unknown, number>();
    sender.on('accepted', (ctx: EventContext) => {
      const seq = tags.get(ctx.delivery);
      tags.delete(ctx.delivery);
      if (seq !== undefined) this.ledger.confirm(seq);
    });
    const refused = (ctx: EventContext) => {
      const seq = tags.get(ctx.delivery);
      tags.delete(ctx.delivery);
      if (seq !== undefined) this.ledger.refuse(seq);
    };
    sender.on('rejected', refused);
    sender.on('released', refused);
    sender.on('modified', refused);
    // rhea 3's write_dispositions merges a delivery into a one-delivery run without comparing
    // outcomes (`first !== last && !are_outcomes_equivalent(...)`): an accept followed by a
    // reject in the same turn goes out as one accepted range. So releases and rejects wait for
    // a turn of their own, one kind per turn, after the accepts of the turn they arrived in.
    const deferred: { release: (() => void)[]; reject: (() => void)[] } = { release: [], reject: [] };
    let turn: 'release' | 'reject' = 'release';
    const outcomes = setInterval(() => {
      turn = turn === 'release' ? 'reject' : 'release';
      for (const f of deferred[turn].splice(0)) f();
    }, 5);
    receiver.on('message', (ctx: EventContext) => {
      const body = ctx.message!.body as { content?: Buffer } | Buffer | string;
      const bytes = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.from((body as { content: Buffer }).content);
      const redelivered = (ctx.message!.delivery_count ?? 0) > 0 || ctx.message!.first_acquirer === false;
      const verdict = Books.verdict(bytes);
      const delivery = ctx.delivery!;
      if (verdict === 'requeue' && !redelivered) return void deferred.release.push(() => delivery.release({ delivery_failed: true }));
      if (verdict === 'reject') return void deferred.reject.push(() => delivery.reject());
      this.o.books.consumed(bytes, redelivered);
      delivery.accept();
    });
    await new Promise<void>((resolve) => sender.once('sendable', () => resolve()));
    const publishing = this.publishLoop(
      () => life.alive,
      () => {
        const { seq, body } = this.ledger.next();
        // every 13th with a 1 ms TTL (the header's ttl): consumed if it is quick, else expired into the DLQ
        const d = sender.send({ body: rhea.message.data_section(body), durable: true, ...(seq % 13 === 0 ? { ttl: 1 } : {}) });
        tags.set(d, seq);
      },
    );
    await life.ended;
    await publishing;
    clearInterval(outcomes);
    conn.close();
  }
}

// ---- OpenWire ------------------------------------------------------------------------

const WIRE = { version: 12, stackTraceEnabled: true };

/** a bare OpenWire client on our codec (no JMS client in Node): connection, session, producer, consumer */
class OpenWireClient {
  readonly closed: Promise<void>;
  onCommand: (s: OwStruct) => void = () => undefined;
  private nextId = 1;
  private readonly answers = new Map<number, (s: OwStruct) => void>();
  readonly connectionId = `ID:soak-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  private constructor(readonly socket: Socket) {
    const frames = new FrameReader(1 << 24);
    socket.on('data', (chunk: Buffer) => {
      try {
        frames.push(chunk, (body) => {
          const s = decodeFrame(body, WIRE);
          if (s.type === T.Response || s.type === T.ExceptionResponse) {
            const a = this.answers.get(s['correlationId'] as number);
            this.answers.delete(s['correlationId'] as number);
            a?.(s);
          } else this.onCommand(s);
        });
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static async open(t: SoakTarget): Promise<OpenWireClient> {
    const s = netConnect({ host: t.host, port: t.base + 3 });
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const c = new OpenWireClient(s);
    c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 24, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'soak' }));
    const r = await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: c.connectionId }, userName: 'guest', password: 'guest' });
    if (r.type !== T.Response) throw new Error('OpenWire login refused');
    await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: c.connectionId, value: 1 } });
    return c;
  }

  write(s: OwStruct): void {
    if (!this.socket.destroyed) this.socket.write(encodeFrame(s, WIRE));
  }

  /** send with responseRequired; the answer arrives through `then` */
  requestAsync(s: OwStruct, then: (answer: OwStruct) => void): void {
    const commandId = this.nextId++;
    this.answers.set(commandId, then);
    this.write({ ...s, commandId, responseRequired: true });
  }

  request(s: OwStruct): Promise<OwStruct> {
    return new Promise((resolve, reject) => {
      this.requestAsync(s, resolve);
      void this.closed.then(() => reject(new Error('OpenWire closed')));
    });
  }
}

export class OpenWireLane extends Lane {
  readonly name = 'openwire';
  ledger: Ledger;
  constructor(o: LaneOptions) {
    super(o);
    this.ledger = o.books.lane(this.name);
  }

  protected async session(): Promise<void> {
    const [pub, sub] = await this.openPair(
      () => OpenWireClient.open(this.o.target),
      () => OpenWireClient.open(this.o.target),
      (c) => c.socket.destroy(),
    );
    const life = this.connected(Promise.race([pub.closed, sub.closed]));
    const destination = { type: T.Queue, physicalName: QUEUES.openwire };
    const producerId = { type: T.ProducerId, connectionId: pub.connectionId, value: 1, sessionId: 1 };
    const consumerId = { type: T.ConsumerId, connectionId: sub.connectionId, sessionId: 1, value: 1 };
    await pub.request({ type: T.ProducerInfo, producerId, destination });
    sub.onCommand = (s) => {
      if (s.type !== T.MessageDispatch || !s['message']) return;
      const m = s['message'] as OwStruct;
      const body = Buffer.from(textOf(m['content'] as Buffer) ?? '');
      const redelivered = ((s['redeliveryCounter'] as number) ?? 0) > 0 || ((m['redeliveryCounter'] as number) ?? 0) > 0;
      // ActiveMQ has no requeue from the client: a poison ack sends the message to ActiveMQ.DLQ
      const poison = Books.verdict(body) === 'reject';
      if (!poison) this.o.books.consumed(body, redelivered);
      sub.write({ type: T.MessageAck, destination, consumerId, ackType: poison ? AckType.Poison : AckType.Individual, firstMessageId: m['messageId'], lastMessageId: m['messageId'], messageCount: 1 });
    };
    await sub.request({ type: T.ConsumerInfo, consumerId, destination, prefetchSize: 50, dispatchAsync: true, priority: 0 });
    let n = 0;
    const publishing = this.publishLoop(
      () => life.alive,
      () => {
        const { seq, body } = this.ledger.next();
        n++;
        pub.requestAsync(
          {
            type: T.TextMessage,
            producerId,
            destination,
            messageId: { type: T.MessageId, producerId, producerSequenceId: n, brokerSequenceId: 0 },
            persistent: true,
            priority: 4,
            timestamp: Date.now(),
            content: textContent(body.toString()),
          },
          (answer) => (answer.type === T.Response ? this.ledger.confirm(seq) : this.ledger.refuse(seq)),
        );
      },
    );
    await life.ended;
    await publishing;
    pub.write({ type: T.ShutdownInfo });
    sub.write({ type: T.ShutdownInfo });
    pub.socket.end();
    sub.socket.end();
  }
}

// ---- connect/disconnect churn --------------------------------------------------------

/** opens and closes a connection of each protocol in turn, as fast as `rate` allows */
export class ChurnLane extends Lane {
  readonly name = 'churn';
  ledger: Ledger;
  readonly cycles: Record<string, number> = { amqp: 0, stomp: 0, mqtt: 0, amqp10: 0, openwire: 0 };
  failures = 0;
  constructor(o: LaneOptions) {
    super(o);
    this.ledger = new Books().lane('unused');
  }

  protected async session(): Promise<void> {
    const kinds = Object.keys(this.cycles);
    let i = 0;
    while (!this.closed) {
      const kind = kinds[i++ % kinds.length]!;
      try {
        await this.cycle(kind);
        this.cycles[kind]!++;
      } catch {
        this.failures++;
      }
      await sleep(1000 / this.o.rate);
    }
  }

  private async cycle(kind: string): Promise<void> {
    const t = this.o.target;
    switch (kind) {
      case 'amqp': {
        const c = await amqplib.connect(`amqp://guest:guest@${t.host}:${t.base}`);
        c.on('error', () => undefined);
        await c.close();
        return;
      }
      case 'stomp': {
        const c = await StompClient.open(t);
        c.send('DISCONNECT', []);
        c.socket.end();
        await c.closed;
        return;
      }
      case 'mqtt': {
        const c = await mqtt.connectAsync(`mqtt://${t.host}:${t.base + 2}`, { username: 'guest', password: 'guest', reconnectPeriod: 0, clean: true });
        await c.endAsync();
        return;
      }
      case 'amqp10': {
        const conn = rhea.create_container().connect({ host: t.host, port: t.base, username: 'guest', password: 'guest', reconnect: false } as never);
        await new Promise<void>((resolve, reject) => {
          conn.once('connection_open', () => resolve());
          conn.once('disconnected', () => reject(new Error('AMQP 1.0 churn refused')));
        });
        await new Promise<void>((resolve) => {
          conn.once('connection_close', () => resolve());
          conn.once('disconnected', () => resolve());
          conn.close();
        });
        return;
      }
      case 'openwire': {
        const c = await OpenWireClient.open(t);
        c.write({ type: T.ShutdownInfo });
        c.socket.end();
        await c.closed;
        return;
      }
    }
  }
}
