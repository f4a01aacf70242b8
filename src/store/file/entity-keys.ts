import type { FieldTable } from '../../core/fields.js';
import type { BindingDef, PermissionDef } from '../store.js';
import { ByteWriter } from './binary.js';
import { EntityKind } from './record-codec.js';
import { writeValue } from './value-codec.js';

/** What a Put record for the Record kind holds. */
export interface KeyedRecord {
  namespace: string;
  key: string;
  value: unknown;
}

const scratch = new ByteWriter(1024);

/** a binding's arguments are part of its identity (as in RabbitMQ); key order must not matter */
function argumentsKey(args: FieldTable): string {
  scratch.pos = 0;
  writeValue(scratch, args ?? {}, true);
  return scratch.buf.toString('latin1', 0, scratch.pos);
}

export function bindingKey(b: BindingDef): string {
  return `${b.vhost}\u0000${b.source}\u0000${b.destinationType}\u0000${b.destination}\u0000${b.routingKey}\u0000${argumentsKey(b.arguments)}`;
}

export function permissionKey(user: string, vhost: string): string {
  return `${user}\u0000${vhost}`;
}

export function vhostScopedKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

export function recordKey(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/** the identity of a definition, as Delete records name it */
export function entityKey(kind: EntityKind, def: unknown): string {
  const d = def as Record<string, unknown>;
  switch (kind) {
    case EntityKind.Vhost:
    case EntityKind.User:
      return d.name as string;
    case EntityKind.Permission:
      return permissionKey((def as PermissionDef).user, (def as PermissionDef).vhost);
    case EntityKind.Exchange:
    case EntityKind.Queue:
    case EntityKind.Policy:
      return vhostScopedKey(d.vhost as string, d.name as string);
    case EntityKind.Binding:
      return bindingKey(def as BindingDef);
    case EntityKind.Record:
      return recordKey((def as KeyedRecord).namespace, (def as KeyedRecord).key);
    default:
      throw new Error(`unknown entity kind ${kind as number}`);
  }
}
