import type { OwStruct } from './codec/marshal.js';
import { T } from './codec/types.js';

/** an OpenWire destination as the adapter resolves it onto the core */
export interface OwDestination {
  kind: 'queue' | 'topic';
  temporary: boolean;
  name: string;
}

export const ADVISORY_PREFIX = 'ActiveMQ.Advisory.';

export function destinationOf(s: OwStruct | null | undefined): OwDestination | undefined {
  if (!s) return undefined;
  const name = s['physicalName'] as string | null;
  if (name === null || name === undefined) return undefined;
  switch (s.type) {
    case T.Queue:
      return { kind: 'queue', temporary: false, name };
    case T.Topic:
      return { kind: 'topic', temporary: false, name };
    case T.TempQueue:
      return { kind: 'queue', temporary: true, name };
    case T.TempTopic:
      return { kind: 'topic', temporary: true, name };
    default:
      return undefined;
  }
}

/**
 * ActiveMQ's composite destinations: `a,b` names several of the same kind; a part may
 * carry its own `queue://` or `topic://` prefix.
 */
export function expandComposite(d: OwDestination): OwDestination[] {
  if (!d.name.includes(',')) return [d];
  return d.name
    .split(',')
    .filter((p) => p.length > 0)
    .map((part) => {
      if (part.startsWith('queue://')) return { kind: 'queue', temporary: false, name: part.slice(8) };
      if (part.startsWith('topic://')) return { kind: 'topic', temporary: false, name: part.slice(8) };
      return { ...d, name: part };
    });
}

export function destinationStruct(d: OwDestination): OwStruct {
  const type = d.kind === 'queue' ? (d.temporary ? T.TempQueue : T.Queue) : d.temporary ? T.TempTopic : T.Topic;
  return { type, physicalName: d.name };
}

/** the destination in the text form the core keeps in reply-to (ActiveMQ's STOMP form) */
export function destinationText(d: OwDestination): string {
  return `/${d.temporary ? 'temp-' : ''}${d.kind}/${d.name}`;
}

/** reply-to text from any protocol back to an OpenWire destination (a bare name is a queue) */
export function parseDestinationText(text: string): OwDestination {
  for (const [prefix, kind, temporary] of [
    ['/queue/', 'queue', false],
    ['/topic/', 'topic', false],
    ['/temp-queue/', 'queue', true],
    ['/temp-topic/', 'topic', true],
    ['queue://', 'queue', false],
    ['topic://', 'topic', false],
  ] as const) {
    if (text.startsWith(prefix)) return { kind, temporary, name: text.slice(prefix.length) };
  }
  return { kind: 'queue', temporary: false, name: text };
}
