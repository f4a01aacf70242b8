import type { FieldTable } from '../fields.js';
import { DirectRouter } from './direct.js';
import { FanoutRouter } from './fanout.js';
import { HeadersRouter } from './headers.js';
import type { Binding, Destination, Router } from './router.js';
import { TopicRouter } from './topic.js';

export const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];

export function isExchangeType(t: string): t is ExchangeType {
  return (EXCHANGE_TYPES as readonly string[]).includes(t);
}

function routerFor(type: ExchangeType): Router {
  switch (type) {
    case 'direct':
      return new DirectRouter();
    case 'fanout':
      return new FanoutRouter();
    case 'topic':
      return new TopicRouter();
    case 'headers':
      return new HeadersRouter();
  }
}

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

export class Exchange implements Destination {
  readonly kind = 'exchange' as const;
  private readonly router: Router;
  /** bindings whose source is this exchange, by id */
  readonly bindings = new Map<string, Binding>();
  /** messages published to it, and deliveries to queues they made (the management API's publish_in / publish_out) */
  readonly stats = { publishIn: 0, publishOut: 0 };

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly type: ExchangeType,
    readonly options: ExchangeOptions,
  ) {
    this.router = routerFor(type);
  }

  get alternateExchange(): string | undefined {
    const ae = this.options.arguments['alternate-exchange'];
    return typeof ae === 'string' ? ae : Buffer.isBuffer(ae) ? ae.toString() : undefined;
  }

  /** returns false when an identical binding already existed */
  bind(destination: Destination, routingKey: string, args: FieldTable): boolean {
    const id = bindingId(destination, routingKey, args);
    if (this.bindings.has(id)) return false;
    const b: Binding = { destination, routingKey, arguments: args, id };
    this.bindings.set(id, b);
    this.router.add(b);
    return true;
  }

  unbind(destination: Destination, routingKey: string, args: FieldTable): boolean {
    const id = bindingId(destination, routingKey, args);
    const b = this.bindings.get(id);
    if (!b) return false;
    this.bindings.delete(id);
    this.router.remove(b);
    return true;
  }

  /** drop every binding to this destination (it is being deleted) */
  unbindAll(destination: Destination): Binding[] {
    const removed: Binding[] = [];
    for (const b of this.bindings.values()) {
      if (b.destination === destination) {
        this.bindings.delete(b.id);
        this.router.remove(b);
        removed.push(b);
      }
    }
    return removed;
  }

  route(routingKey: string, headers: FieldTable | undefined, out: Set<Destination>): void {
    this.router.route(routingKey, headers, out);
  }

  /** Router.routeList: the destinations as a list (the router's own), where its router has one; else undefined */
  routeList(routingKey: string, headers: FieldTable | undefined): readonly Destination[] | undefined {
    return this.router.routeList?.(routingKey, headers);
  }
}

function bindingId(d: Destination, key: string, args: FieldTable): string {
  const a = Object.keys(args).length ? stableArgs(args) : '';
  return `${d.kind}\u0000${d.name}\u0000${key}\u0000${a}`;
}

function stableArgs(args: FieldTable): string {
  return JSON.stringify(args, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
