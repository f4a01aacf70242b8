/** A stored MQTT subscription as aedes-persistence hands them out by topic. */
export interface TopicSubscription {
  clientId: string;
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
}

class Node {
  children: Map<string, Node> | undefined;
  /** clientId -> subscription ending at this node */
  subs: Map<string, TopicSubscription> | undefined;

  isEmpty(): boolean {
    return !this.subs?.size && !this.children?.size;
  }
}

/**
 * MQTT filters in a trie of levels, so matching a topic walks only the branches its
 * levels can reach. Order of results: `#` below a level before that level's own
 * subscriptions, then exact words, then `+` (the order aedes' own memory persistence gives).
 */
export class SubscriptionTrie {
  private readonly root = new Node();
  size = 0;

  add(sub: TopicSubscription): void {
    let node = this.root;
    for (const level of sub.topic.split('/')) {
      let next = node.children?.get(level);
      if (!next) (node.children ??= new Map()).set(level, (next = new Node()));
      node = next;
    }
    const subs = (node.subs ??= new Map());
    if (!subs.has(sub.clientId)) this.size++;
    subs.set(sub.clientId, sub);
  }

  remove(clientId: string, topic: string): void {
    const path: [Node, string][] = [];
    let node: Node | undefined = this.root;
    for (const level of topic.split('/')) {
      const next: Node | undefined = node.children?.get(level);
      if (!next) return;
      path.push([node, level]);
      node = next;
    }
    if (!node.subs?.delete(clientId)) return;
    this.size--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      if (!parent.children!.get(level)!.isEmpty()) break;
      parent.children!.delete(level);
    }
  }

  match(topic: string): TopicSubscription[] {
    const out: TopicSubscription[] = [];
    const levels = topic.split('/');
    const dollar = topic.charCodeAt(0) === 36;
    walk(this.root, levels, 0, dollar, out);
    return out;
  }
}

function walk(node: Node, levels: string[], i: number, dollar: boolean, out: TopicSubscription[]): void {
  // [MQTT-4.7.2-1]: `$` topics are not matched by a wildcard in the first level
  const wild = !(dollar && i === 0);
  const hash = wild ? node.children?.get('#') : undefined;
  if (hash?.subs) for (const s of hash.subs.values()) out.push(s);
  if (i === levels.length) {
    if (node.subs) for (const s of node.subs.values()) out.push(s);
    return;
  }
  const exact = node.children?.get(levels[i]!);
  if (exact) walk(exact, levels, i + 1, dollar, out);
  const plus = wild ? node.children?.get('+') : undefined;
  if (plus) walk(plus, levels, i + 1, dollar, out);
}
