import type { BindingDef, ExchangeDef } from '../store/store.js';
import type { Exchange } from './exchanges/exchange.js';
import type { Destination } from './exchanges/router.js';
import type { FieldTable } from './fields.js';

/** an exchange as the store and definitions.json keep it */
export function exchangeDef(vhost: string, ex: Exchange): ExchangeDef {
  return {
    vhost,
    name: ex.name,
    type: ex.type,
    durable: ex.options.durable,
    autoDelete: ex.options.autoDelete,
    internal: ex.options.internal,
    arguments: ex.options.arguments,
  };
}

/** a binding as the store and definitions.json keep it */
export function bindingDef(vhost: string, source: Exchange, d: Destination, routingKey: string, args: FieldTable): BindingDef {
  return { vhost, source: source.name, destination: d.name, destinationType: d.kind, routingKey, arguments: args };
}
