import type { FieldTable } from '../fields.js';
import { DestinationCounts, type Binding, type Destination, type Router } from './router.js';

/** One level of the binding-key trie: words, `*` and `#` each lead to a child. */
class TrieNode {
  children: Map<string, TrieNode> | undefined;
  star: TrieNode | undefined;
  hash: TrieNode | undefined;
  bound: DestinationCounts | undefined;

  isEmpty(): boolean {
    return !this.bound?.size && !this.star && !this.hash && !this.children?.size;
  }
}

/** routing keys whose destinations a topic exchange remembers (all forgotten at once when full) */
const ROUTE_CACHE_SIZE = 4096;

/** RabbitMQ splits keys on '.', and the empty key has no words at all */
const words = (key: string): string[] => (key === '' ? [] : key.split('.'));

/**
 * Topic routing with a trie of binding keys, so a publish walks only the branches its
 * words can match rather than testing every binding: routing cost does not grow with
 * the number of bindings.
 */
export class TopicRouter implements Router {
  private readonly root = new TrieNode();
  /**
   * routing key -> where it routes, until the bindings change: a publisher repeats its
   * keys, and walking the trie (splitting the key into words) is most of a publish's routing
   */
  private readonly routes = new Map<string, Destination[]>();

  add(b: Binding): void {
    this.routes.clear();
    let node = this.root;
    for (const w of words(b.routingKey)) node = child(node, w, true)!;
    (node.bound ??= new DestinationCounts()).add(b.destination);
  }

  remove(b: Binding): void {
    this.routes.clear();
    const path: [TrieNode, string][] = [];
    let node: TrieNode | undefined = this.root;
    for (const w of words(b.routingKey)) {
      const next: TrieNode | undefined = child(node, w, false);
      if (!next) return;
      path.push([node, w]);
      node = next;
    }
    if (!node.bound) return;
    node.bound.remove(b.destination);
    if (!node.bound.size) node.bound = undefined;
    // prune now-empty branches so a churn of bindings does not grow the trie forever
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, w] = path[i]!;
      const c = child(parent, w, false)!;
      if (!c.isEmpty()) break;
      if (w === '*') parent.star = undefined;
      else if (w === '#') parent.hash = undefined;
      else parent.children!.delete(w);
    }
  }

  route(routingKey: string, headers: FieldTable | undefined, out: Set<Destination>): void {
    for (const d of this.routeList(routingKey, headers)) out.add(d);
  }

  routeList(routingKey: string, _headers: FieldTable | undefined): readonly Destination[] {
    let found = this.routes.get(routingKey);
    if (!found) {
      const s = new Set<Destination>();
      walk(this.root, words(routingKey), 0, s);
      found = [...s];
      if (this.routes.size >= ROUTE_CACHE_SIZE) this.routes.clear();
      this.routes.set(routingKey, found);
    }
    return found;
  }
}

function child(node: TrieNode, w: string, create: boolean): TrieNode | undefined {
  if (w === '*') return create ? (node.star ??= new TrieNode()) : node.star;
  if (w === '#') return create ? (node.hash ??= new TrieNode()) : node.hash;
  let c = node.children?.get(w);
  if (!c && create) (node.children ??= new Map()).set(w, (c = new TrieNode()));
  return c;
}

function walk(node: TrieNode, ws: string[], i: number, out: Set<Destination>): void {
  if (node.hash) {
    // '#' swallows zero or more words
    for (let j = i; j <= ws.length; j++) walk(node.hash, ws, j, out);
  }
  if (i === ws.length) {
    node.bound?.addTo(out);
    return;
  }
  const next = node.children?.get(ws[i]!);
  if (next) walk(next, ws, i + 1, out);
  if (node.star) walk(node.star, ws, i + 1, out);
}
