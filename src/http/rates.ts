import type { Broker } from '../core/broker.js';
import type { Exchange } from '../core/exchanges/exchange.js';
import type { Queue } from '../core/queues/queue.js';
import { Waiters } from '../core/waiters.js';
import type { ClientConnection } from '../protocols/context.js';

/** RabbitMQ's collect_statistics_interval: stats are sampled every 5 s */
export const DEFAULT_SAMPLE_INTERVAL_MS = 5000;

/** one counter's last sampled value and its rate (per second) over the last interval */
interface Sampled {
  value: number;
  rate: number;
}

type Counters = Record<string, Sampled>;

/**
 * Rates as RabbitMQ's management plugin shows them (`publish_details.rate` …): counters
 * are read every sample interval and each rate is the change over the last interval, per
 * second. Between samples the API shows the last computed rate, as RabbitMQ does.
 */
export class RateSampler {
  private readonly broker: Counters = {};
  private readonly queues = new WeakMap<Queue, Counters>();
  private readonly conns = new WeakMap<ClientConnection, Counters>();
  private readonly exchanges = new WeakMap<Exchange, Counters>();
  /** RabbitMQ's churn_rates: objects created and closed/deleted since start, with their rates */
  private readonly churn: Counters = {};
  private timer: NodeJS.Timeout | undefined;
  private lastAt = Date.now();
  /** queues created by a declare and deleted since start (rabbitmq_queues_created_total / _deleted_total) */
  queuesCreated = 0;
  queuesDeleted = 0;
  private readonly onCreated = () => void this.queuesCreated++;
  /** what deleted queues had counted of each delivery kind: the broker's totals keep it */
  private readonly deletedQueueStats: DeliveryKinds = { deliver: 0, deliver_no_ack: 0, get: 0, get_no_ack: 0, get_empty: 0, redeliver: 0 };
  private readonly onDeleted = (q: Queue) => {
    this.queuesDeleted++;
    const k = deliveryKinds(q);
    for (const key of Object.keys(k) as (keyof DeliveryKinds)[]) this.deletedQueueStats[key] += k[key];
  };
  /**
   * Bytes the client connections received and sent: since start (connections closed since
   * count with what they had moved at their last sample) and over the last sample interval.
   */
  readonly network = { totalIn: 0, totalOut: 0, lastIn: 0, lastOut: 0, lastSeconds: 0 };
  private lastBytes = new Map<ClientConnection, { read: number; written: number }>();
  private readonly closedBytes = { read: 0, written: 0 };
  /** the node's gauges and counters (mem_used, gc_num, io_write_count …), set by the management API */
  nodeFigures: (() => Record<string, number>) | undefined;
  private readonly node: Counters = {};
  /** how many samples were taken (tests wait for the next one) */
  samples = 0;
  private readonly waiters = new Waiters();

  constructor(
    private readonly core: Broker,
    private readonly connections: () => ClientConnection[],
    readonly intervalMs = DEFAULT_SAMPLE_INTERVAL_MS,
    /** connections opened and closed since start (the server's registry counts them) */
    private readonly connectionChurn: () => { created: number; closed: number } = () => ({ created: 0, closed: 0 }),
  ) {}

  start(): void {
    if (this.timer) return;
    this.core.on('queueDeclared', this.onCreated);
    this.core.on('queueDeleted', this.onDeleted);
    this.lastAt = Date.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.core.off('queueDeclared', this.onCreated);
    this.core.off('queueDeleted', this.onDeleted);
  }

  /** resolves after the next sample */
  nextSample(): Promise<void> {
    return this.waiters.wait();
  }

  sample(): void {
    const now = Date.now();
    const seconds = Math.max((now - this.lastAt) / 1000, 0.001);
    this.lastAt = now;
    const s = this.core.stats;
    let ready = 0;
    let unacked = 0;
    // the live queues' share of the broker's delivery kinds (plus what deleted queues had counted)
    const live: DeliveryKinds = { deliver: 0, deliver_no_ack: 0, get: 0, get_no_ack: 0, get_empty: 0, redeliver: 0 };
    for (const v of this.core.vhosts.values()) {
      for (const x of v.exchanges.values()) {
        let c = this.exchanges.get(x);
        if (!c) this.exchanges.set(x, (c = {}));
        update(c, 'publish_in', x.stats.publishIn, seconds);
        update(c, 'publish_out', x.stats.publishOut, seconds);
      }
      for (const q of v.queues.values()) {
        ready += q.messageCount;
        unacked += q.unackedCount;
        let c = this.queues.get(q);
        if (!c) this.queues.set(q, (c = {}));
        update(c, 'publish', q.stats.published, seconds);
        update(c, 'deliver_get', q.stats.delivered, seconds);
        update(c, 'ack', q.stats.acked, seconds);
        const k = deliveryKinds(q);
        for (const key of Object.keys(k) as (keyof DeliveryKinds)[]) {
          update(c, key, k[key], seconds);
          live[key] += k[key];
        }
        update(c, 'messages', q.messageCount + q.unackedCount, seconds);
        update(c, 'messages_ready', q.messageCount, seconds);
        update(c, 'messages_unacknowledged', q.unackedCount, seconds);
      }
    }
    const b = this.broker;
    update(b, 'publish', s.published, seconds);
    update(b, 'deliver_get', s.delivered, seconds);
    update(b, 'ack', s.acked, seconds);
    update(b, 'confirm', s.confirmed, seconds);
    update(b, 'drop_unroutable', s.unroutable - s.returned, seconds);
    update(b, 'return_unroutable', s.returned, seconds);
    for (const k of Object.keys(live) as (keyof typeof live)[]) update(b, k, live[k] + this.deletedQueueStats[k], seconds);
    update(b, 'messages', ready + unacked, seconds);
    update(b, 'messages_ready', ready, seconds);
    update(b, 'messages_unacknowledged', unacked, seconds);
    if (this.nodeFigures) {
      const figures = this.nodeFigures();
      for (const key of Object.keys(figures)) update(this.node, key, figures[key]!, seconds);
    }
    const churn = this.churnCounts();
    for (const key of Object.keys(churn) as (keyof ChurnCounts)[]) update(this.churn, key, churn[key], seconds);
    const seen = new Map<ClientConnection, { read: number; written: number }>();
    for (const conn of this.connections()) {
      const sock = conn.socket;
      if (!sock) continue;
      let c = this.conns.get(conn);
      if (!c) this.conns.set(conn, (c = {}));
      update(c, 'recv_oct', sock.bytesRead, seconds);
      update(c, 'send_oct', sock.bytesWritten, seconds);
      seen.set(conn, { read: sock.bytesRead, written: sock.bytesWritten });
    }
    // connections gone since the last sample keep what they had moved in the node's totals
    for (const [conn, last] of this.lastBytes) {
      if (seen.has(conn)) continue;
      this.closedBytes.read += last.read;
      this.closedBytes.written += last.written;
    }
    this.lastBytes = seen;
    const before = this.network.totalIn;
    const beforeOut = this.network.totalOut;
    this.network.totalIn = this.closedBytes.read;
    this.network.totalOut = this.closedBytes.written;
    for (const b of seen.values()) {
      this.network.totalIn += b.read;
      this.network.totalOut += b.written;
    }
    this.network.lastIn = this.network.totalIn - before;
    this.network.lastOut = this.network.totalOut - beforeOut;
    this.network.lastSeconds = seconds;
    this.samples++;
    this.waiters.release();
  }

  /** the broker's deliveries by kind since start (overview message_stats), deleted queues included */
  deliveryTotals(): DeliveryKinds {
    const t = { ...this.deletedQueueStats };
    for (const v of this.core.vhosts.values()) {
      for (const q of v.queues.values()) {
        const k = deliveryKinds(q);
        for (const key of Object.keys(k) as (keyof DeliveryKinds)[]) t[key] += k[key];
      }
    }
    return t;
  }

  /** the counters behind RabbitMQ's churn_rates, now */
  churnCounts(): ChurnCounts {
    const conns = this.connectionChurn();
    // in RabbitMQ's order (its JSON lists them alphabetically)
    return {
      channel_closed: this.core.limits.channelsClosed,
      channel_created: this.core.limits.channelsCreated,
      connection_closed: conns.closed,
      connection_created: conns.created,
      queue_created: this.queuesCreated,
      queue_declared: this.core.stats.queueDeclares,
      queue_deleted: this.queuesDeleted,
    };
  }

  churnRate(key: keyof ChurnCounts): number {
    return this.churn[key]?.rate ?? 0;
  }

  exchangeRate(x: Exchange, key: 'publish_in' | 'publish_out'): number {
    return this.exchanges.get(x)?.[key]?.rate ?? 0;
  }

  /** broker-wide rate of a counter (`publish`, `deliver_get`, `ack`, `confirm`, `messages` …) */
  brokerRate(key: string): number {
    return this.broker[key]?.rate ?? 0;
  }

  /** the node figure's rate over the last sample (RabbitMQ's mem_used_details, io_read_count_details …) */
  nodeRate(key: string): number {
    return this.node[key]?.rate ?? 0;
  }

  queueRate(q: Queue, key: string): number {
    return this.queues.get(q)?.[key]?.rate ?? 0;
  }

  connectionRate(c: ClientConnection, key: string): number {
    return this.conns.get(c)?.[key]?.rate ?? 0;
  }
}

/** RabbitMQ's kinds of deliveries (message_stats deliver, deliver_no_ack, get …) */
export interface DeliveryKinds {
  deliver: number;
  deliver_no_ack: number;
  get: number;
  get_no_ack: number;
  get_empty: number;
  redeliver: number;
}

export function deliveryKinds(q: Queue): DeliveryKinds {
  const s = q.stats;
  return {
    deliver: s.delivered - s.deliverNoAck - s.get - s.getNoAck,
    deliver_no_ack: s.deliverNoAck,
    get: s.get,
    get_no_ack: s.getNoAck,
    get_empty: s.getEmpty,
    redeliver: s.redelivered,
  };
}

export interface ChurnCounts {
  connection_created: number;
  connection_closed: number;
  channel_created: number;
  channel_closed: number;
  queue_created: number;
  queue_declared: number;
  queue_deleted: number;
}

function update(counters: Counters, key: string, value: number, seconds: number): void {
  const prev = counters[key];
  if (!prev) {
    counters[key] = { value, rate: 0 };
    return;
  }
  prev.rate = round((value - prev.value) / seconds);
  prev.value = value;
}

/** RabbitMQ shows rates with one decimal */
function round(n: number): number {
  return Math.round(n * 10) / 10;
}
