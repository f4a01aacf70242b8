import type { FieldTable } from '../fields.js';

/** Anything a binding can point at: a queue or (exchange-to-exchange) an exchange. */
export interface Destination {
  readonly kind: 'queue' | 'exchange';
  readonly name: string;
}

export interface Binding {
  readonly destination: Destination;
  readonly routingKey: string;
  readonly arguments: FieldTable;
  /** identity of the binding within its source exchange */
  readonly id: string;
}

/** How one exchange type picks destinations. One implementation per type. */
export interface Router {
  add(binding: Binding): void;
  remove(binding: Binding): void;
  route(routingKey: string, headers: FieldTable | undefined, out: Set<Destination>): void;
  /**
   * Where `route` would send it, as a list (each destination once, in `route`'s order) when
   * the router has one at hand without building a set: the router's own array, not to be
   * changed. A publish to many queues then routes without a set growing per publish.
   */
  routeList?(routingKey: string, headers: FieldTable | undefined): readonly Destination[];
}

/** A multiset of destinations, so two bindings to one queue deliver once and unbinding one keeps the other. */
export class DestinationCounts {
  private readonly counts = new Map<Destination, number>();

  get size(): number {
    return this.counts.size;
  }

  add(d: Destination): void {
    this.counts.set(d, (this.counts.get(d) ?? 0) + 1);
  }

  /** returns true when the set became empty */
  remove(d: Destination): boolean {
    const n = this.counts.get(d);
    if (n === undefined) return this.counts.size === 0;
    if (n <= 1) this.counts.delete(d);
    else this.counts.set(d, n - 1);
    return this.counts.size === 0;
  }

  addTo(out: Set<Destination>): void {
    for (const d of this.counts.keys()) out.add(d);
  }
}
