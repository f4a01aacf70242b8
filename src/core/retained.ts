import type { Store } from '../store/store.js';
import type { Message, MessageProperties } from './message.js';

/** the store's record namespace for retained messages (key: vhost NUL exchange NUL routing key) */
export const RETAINED_NAMESPACE = 'retained';

interface StoredRetained {
  exchange: string;
  routingKey: string;
  properties: MessageProperties;
  body: Buffer;
  publishedAt: number;
}

/**
 * The last retained message per routing key of an exchange, per vhost: what a new
 * subscriber is handed first (MQTT's retained messages; RabbitMQ keeps them in its
 * retainer store per vhost). Durable through the store's keyed records, so they survive
 * a restart with a data dir; a message's own expiration (MQTT 5's message expiry) still
 * counts from when it was published.
 */
export class RetainedMessages {
  /** vhost -> exchange NUL routing key -> message */
  private readonly byVhost = new Map<string, Map<string, Message>>();

  constructor(private readonly store: Store) {}

  /** keep `message` as the retained one for its exchange and routing key; an empty body clears it */
  retain(vhost: string, message: Message): void {
    const key = `${message.exchange}\u0000${message.routingKey}`;
    let m = this.byVhost.get(vhost);
    if (message.body.length === 0) {
      if (m?.delete(key)) this.store.putRecord(RETAINED_NAMESPACE, `${vhost}\u0000${key}`, null);
      return;
    }
    if (!m) this.byVhost.set(vhost, (m = new Map()));
    m.set(key, message);
    const stored: StoredRetained = {
      exchange: message.exchange,
      routingKey: message.routingKey,
      properties: message.properties,
      body: message.body,
      publishedAt: message.publishedAt,
    };
    this.store.putRecord(RETAINED_NAMESPACE, `${vhost}\u0000${key}`, stored);
  }

  /** the live retained messages of an exchange whose routing key passes `matches`; expired ones go */
  find(vhost: string, exchange: string, matches: (routingKey: string) => boolean, now = Date.now()): Message[] {
    const m = this.byVhost.get(vhost);
    if (!m) return [];
    const out: Message[] = [];
    for (const [key, message] of m) {
      if (message.exchange !== exchange || !matches(message.routingKey)) continue;
      if (expired(message, now)) {
        m.delete(key);
        this.store.putRecord(RETAINED_NAMESPACE, `${vhost}\u0000${key}`, null);
        continue;
      }
      out.push(message);
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const m of this.byVhost.values()) n += m.size;
    return n;
  }

  /** the records recovered from the store */
  restore(records: Map<string, unknown> | undefined): void {
    if (!records) return;
    for (const [k, v] of records) {
      const vhost = k.slice(0, k.indexOf('\u0000'));
      const s = v as StoredRetained;
      const body = Buffer.isBuffer(s.body) ? s.body : Buffer.from(s.body as unknown as string, 'base64');
      let m = this.byVhost.get(vhost);
      if (!m) this.byVhost.set(vhost, (m = new Map()));
      m.set(`${s.exchange}\u0000${s.routingKey}`, { exchange: s.exchange, routingKey: s.routingKey, properties: s.properties, body, publishedAt: s.publishedAt });
    }
  }
}

function expired(m: Message, now: number): boolean {
  const exp = m.properties.expiration;
  if (exp === undefined) return false;
  const ms = Number(exp);
  return Number.isFinite(ms) && m.publishedAt + ms <= now;
}
