import type { FieldTable } from '../fields.js';
import { DestinationCounts, type Binding, type Destination, type Router } from './router.js';

/** Every bound destination, whatever the key. */
export class FanoutRouter implements Router {
  private readonly all = new DestinationCounts();

  add(b: Binding): void {
    this.all.add(b.destination);
  }

  remove(b: Binding): void {
    this.all.remove(b.destination);
  }

  route(_routingKey: string, _headers: FieldTable | undefined, out: Set<Destination>): void {
    this.all.addTo(out);
  }
}
