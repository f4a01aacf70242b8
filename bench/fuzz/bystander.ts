/**
 * A well-behaved client beside the fuzzed sockets (issue 18: bad input "never crashes the
 * broker or loses another client's message"): a publisher that waits for the broker's confirm
 * and a consumer on its own connection, exchanging numbered messages on a queue of its own
 * for as long as one protocol's inputs are fed. At the end every confirmed message must have
 * been delivered, and neither of its connections may have been dropped.
 *
 * AMQP 0-9-1 (publisher confirms, acks) on a RabbitMQ-side broker; MQTT QoS 1 (PUBACK) on an
 * ActiveMQ-side one, which has no AMQP 0-9-1.
 */
import amqplib, { type ChannelModel } from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';

export interface BystanderRow {
  /** the bystander's protocol */
  via: string;
  published: number;
  confirmed: number;
  /** confirmed and never delivered (after the drain) */
  lost: number;
  /** delivered more than once */
  duplicates: number;
  /** its connections dropped, errors on them */
  errors: string[];
}

interface Watched {
  on(event: 'error' | 'close', fn: (err?: Error) => void): unknown;
}

/** one message every PACE_MS, at most WINDOW unconfirmed */
const PACE_MS = 5;
const WINDOW = 100;
/** how long the end waits for confirmed messages to be delivered */
const DRAIN_MS = 10_000;

abstract class Bystander {
  abstract readonly via: string;
  protected published = 0;
  protected readonly confirmed = new Set<number>();
  protected readonly delivered = new Map<number, number>();
  protected readonly errors: string[] = [];
  protected stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private unconfirmed = 0;

  /** connect both clients, then one confirmed round trip before the fuzzed inputs begin */
  async start(): Promise<void> {
    await this.open();
    await new Promise<void>((resolve, reject) => this.send(0, (ok) => (ok ? resolve() : reject(new Error(`${this.via} bystander: first message not confirmed`)))));
    await this.drained(DRAIN_MS);
    this.timer = setInterval(() => {
      if (this.unconfirmed >= WINDOW || this.stopping) return;
      this.unconfirmed++;
      this.send(this.published, () => this.unconfirmed--);
    }, PACE_MS);
  }

  /** stop publishing, wait for the outstanding confirms and deliveries, close, and account */
  async stop(): Promise<BystanderRow> {
    clearInterval(this.timer);
    const waitUntil = Date.now() + DRAIN_MS;
    while (this.unconfirmed > 0 && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
    await this.drained(Math.max(0, waitUntil - Date.now()));
    this.stopping = true;
    await this.close().catch((e: Error) => this.errors.push(`close: ${e.message}`));
    let lost = 0;
    for (const n of this.confirmed) if (!this.delivered.has(n)) lost++;
    let duplicates = 0;
    for (const times of this.delivered.values()) if (times > 1) duplicates++;
    return { via: this.via, published: this.published, confirmed: this.confirmed.size, lost, duplicates, errors: this.errors };
  }

  /** resolves once every confirmed message was delivered, or after `ms` */
  private async drained(ms: number): Promise<void> {
    const until = Date.now() + ms;
    const missing = () => [...this.confirmed].some((n) => !this.delivered.has(n));
    while (missing() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** publish message `n`; `done(confirmed)` once the broker answered (or the connection went) */
  private send(n: number, done: (ok: boolean) => void): void {
    this.published = Math.max(this.published, n + 1);
    this.publish(String(n), (ok) => {
      if (ok) this.confirmed.add(n);
      done(ok);
    });
  }

  protected deliveredBody(body: Buffer): void {
    const n = Number(body.toString());
    this.delivered.set(n, (this.delivered.get(n) ?? 0) + 1);
  }

  /** a close or an error on either connection before stop() is a drop */
  protected watch(pub: Watched, sub: Watched): void {
    for (const [c, what] of [
      [pub, 'publisher'],
      [sub, 'consumer'],
    ] as const) {
      c.on('error', this.dropped(what));
      c.on('close', this.dropped(what));
    }
  }

  protected dropped(what: string) {
    return (err?: Error) => {
      if (!this.stopping) this.errors.push(`${this.via} ${what} ${err ? `error: ${err.message}` : 'closed'}`.slice(0, 300));
    };
  }

  protected abstract open(): Promise<void>;
  protected abstract publish(body: string, done: (ok: boolean) => void): void;
  protected abstract close(): Promise<void>;
}

class AmqpBystander extends Bystander {
  readonly via = 'amqp-0-9-1';
  private pub!: ChannelModel;
  private sub!: ChannelModel;
  private ch!: amqplib.ConfirmChannel;

  constructor(
    private readonly url: string,
    private readonly queue: string,
  ) {
    super();
  }

  protected async open(): Promise<void> {
    this.pub = await amqplib.connect(this.url);
    this.sub = await amqplib.connect(this.url);
    this.watch(this.pub, this.sub);
    this.ch = await this.pub.createConfirmChannel();
    await this.ch.assertQueue(this.queue, { durable: false });
    const consume = await this.sub.createChannel();
    await consume.consume(this.queue, (m) => {
      if (m === null) return this.dropped('consumer (cancelled)')();
      this.deliveredBody(m.content);
      consume.ack(m);
    });
  }

  protected publish(body: string, done: (ok: boolean) => void): void {
    this.ch.sendToQueue(this.queue, Buffer.from(body), {}, (err) => done(err === null || err === undefined));
  }

  protected async close(): Promise<void> {
    await this.ch.deleteQueue(this.queue);
    await this.pub.close();
    await this.sub.close();
  }
}

class MqttBystander extends Bystander {
  readonly via = 'mqtt';
  private pub!: MqttClient;
  private sub!: MqttClient;

  constructor(
    private readonly url: string,
    private readonly topic: string,
  ) {
    super();
  }

  protected async open(): Promise<void> {
    const options = { username: 'guest', password: 'guest', reconnectPeriod: 0, connectTimeout: 10_000 };
    this.pub = await mqtt.connectAsync(this.url, { ...options, clientId: `${this.topic}-pub` });
    this.sub = await mqtt.connectAsync(this.url, { ...options, clientId: `${this.topic}-sub` });
    this.watch(this.pub, this.sub);
    this.sub.on('message', (_topic, payload) => this.deliveredBody(payload));
    await this.sub.subscribeAsync(this.topic, { qos: 1 });
  }

  protected publish(body: string, done: (ok: boolean) => void): void {
    this.pub.publish(this.topic, body, { qos: 1 }, (err) => done(err === undefined || err === null));
  }

  protected async close(): Promise<void> {
    await this.pub.endAsync();
    await this.sub.endAsync();
  }
}

/** a bystander for a broker: AMQP 0-9-1 where it listens, else MQTT */
export function bystanderFor(urls: { amqp?: string; mqtt?: string }, name: string): Bystander {
  if (urls.amqp !== undefined) return new AmqpBystander(urls.amqp, name);
  if (urls.mqtt !== undefined) return new MqttBystander(urls.mqtt, name);
  throw new Error('a bystander needs an AMQP 0-9-1 or MQTT listener');
}
