import type { Message } from '../message.js';
import type { Queue } from '../queues/queue.js';
import type { Exchange } from './exchange.js';
import type { Destination } from './router.js';

/** the exchanges and queues routing may reach: one vhost's */
export interface RoutingScope {
  readonly exchanges: ReadonlyMap<string, Exchange>;
  readonly queues: ReadonlyMap<string, Queue>;
}

/** does a message carry sender-selected routing keys (RabbitMQ's CC / BCC headers)? */
export function hasSenderSelectedKeys(message: Message): boolean {
  const headers = message.properties.headers;
  return headers !== undefined && (headers['CC'] !== undefined || headers['BCC'] !== undefined);
}

/** the routing keys a publish carries: its key, then the CC and BCC keys (RabbitMQ's mc:routing_keys) */
export function routingKeys(message: Message): string[] {
  const keys = [message.routingKey];
  const headers = message.properties.headers;
  if (headers) {
    for (const h of ['CC', 'BCC']) {
      const extra = headers[h];
      if (Array.isArray(extra)) for (const k of extra) if (typeof k === 'string' || Buffer.isBuffer(k)) keys.push(k.toString());
    }
  }
  return keys;
}

/**
 * The queues a message published to `ex` reaches (LavinMQ's Exchange#find_queues): its
 * routing key plus the CC and BCC keys (BCC is taken off the message, consumers never see
 * it), through exchange-to-exchange bindings, and to an exchange's alternate exchange
 * when the exchange itself routes nowhere. `scratch` is reused between calls; the array
 * returned is a new one, the caller's to keep (enqueueAll hands it on as is).
 */
export function findQueues(scope: RoutingScope, ex: Exchange, message: Message, scratch: Set<Destination>): Queue[] {
  const headers = message.properties.headers;
  if (ex.name !== '' && !hasSenderSelectedKeys(message)) {
    // the usual publish: one routing key, straight to queues (no exchange-to-exchange
    // binding, no alternate exchange needed): no key list, sets or closure to build
    const listed = ex.routeList(message.routingKey, headers);
    if (listed !== undefined) {
      // a router that has the list at hand (topic): copied, no set filled per publish
      if (listed.length > 0 && listed.every(isQueue)) return listed.slice() as Queue[];
    } else {
      scratch.clear();
      ex.route(message.routingKey, headers, scratch);
    }
    if (listed === undefined && scratch.size > 0) {
      let queuesOnly = true;
      for (const d of scratch) {
        if (d.kind !== 'queue') {
          queuesOnly = false;
          break;
        }
      }
      if (queuesOnly) return [...scratch] as Queue[];
    }
  }
  const keys = routingKeys(message);
  if (headers) {
    if (headers['BCC'] !== undefined) {
      // BCC keys route the message but are not seen by consumers
      const { BCC: _bcc, ...rest } = headers;
      message.properties = { ...message.properties, headers: rest };
      message.encodedProperties = undefined;
    }
  }
  const out = new Set<Queue>();
  const seen = new Set<Exchange>();
  const visit = (x: Exchange): void => {
    if (seen.has(x)) return;
    seen.add(x);
    scratch.clear();
    if (x.name === '') {
      for (const k of keys) {
        const q = scope.queues.get(k);
        if (q) scratch.add(q);
      }
    } else for (const k of keys) x.route(k, headers, scratch);
    if (scratch.size === 0) {
      const ae = x.alternateExchange;
      const aex = ae !== undefined ? scope.exchanges.get(ae) : undefined;
      if (aex) visit(aex);
      return;
    }
    const found = [...scratch];
    for (const d of found) {
      if (d.kind === 'queue') out.add(d as Queue);
      else visit(d as Exchange);
    }
  };
  visit(ex);
  return [...out];
}

function isQueue(d: Destination): boolean {
  return d.kind === 'queue';
}

/** publish outcomes, as flags: a confirm is a nack when Rejected is set */
export const Routed = 1;
export const Rejected = 2;
/** the message went to the store's journal (persistent, to a durable queue): core/store-flow.ts */
export const Stored = 4;
