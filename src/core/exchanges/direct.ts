import type { FieldTable } from '../fields.js';
import { DestinationCounts, type Binding, type Destination, type Router } from './router.js';

/** Exact routing-key match. Also the default exchange's router. */
export class DirectRouter implements Router {
  private readonly byKey = new Map<string, DestinationCounts>();

  add(b: Binding): void {
    let set = this.byKey.get(b.routingKey);
    if (!set) this.byKey.set(b.routingKey, (set = new DestinationCounts()));
    set.add(b.destination);
  }

  remove(b: Binding): void {
    const set = this.byKey.get(b.routingKey);
    if (set?.remove(b.destination)) this.byKey.delete(b.routingKey);
  }

  route(routingKey: string, _headers: FieldTable | undefined, out: Set<Destination>): void {
    this.byKey.get(routingKey)?.addTo(out);
  }
}
