import type { Message } from '../../core/message.js';
import type {
  BindingDef,
  ExchangeDef,
  PermissionDef,
  PolicyDef,
  QueueDef,
  RecoveredMessage,
  RecoveredState,
  StoredMessages,
  UserDef,
  VhostDef,
} from '../store.js';
import type { KeyedRecord } from './entity-keys.js';
import { IdMap } from './id-map.js';
import { EntityKind } from './record-codec.js';

/**
 * What the journal currently says, and where on disk the live parts of it sit.
 * Replay applies records to it; the running store applies its own writes to it the
 * same way, so both agree on which records are live and how much of each segment is.
 */
export interface SegmentInfo {
  no: number;
  /** bytes of its records that are still the current word on something */
  live: number;
  /** bytes on disk (final once sealed) */
  size: number;
  /** the JournalState.look in which its live bytes last fell (a remove, a delete, an overwrite; not a compaction's move); -1: never */
  fellIn: number;
  /** how many queues took their last message from it (QueueIds.place): a consumer is reading here */
  places: number;
  /** the look in which it was sealed (replayed ones: 0; the head: Infinity) */
  sealedIn: number;
}

/** a queue's messages (id -> delivered) */
export class QueueIds extends IdMap<boolean> {
  /** the segment its last removal came from (its consumer's place); -1 none yet */
  place = -1;
}

export interface EntityEntry {
  def: unknown;
  seg: number;
  bytes: number;
}

export interface MessageEntry {
  seg: number;
  /** where its record starts in the segment file (a paged-out message is read back from there) */
  offset: number;
  bytes: number;
  /** how many queues still hold it */
  refs: number;
  /** only during recovery: handed to the broker, then dropped */
  message: Message | undefined;
}

/** a deleted queue holding more messages than this lets go of them in slices (JournalState.deferDrop) */
export const DROP_AT_ONCE = 4096;

export class JournalState {
  readonly segments = new Map<number, SegmentInfo>();
  readonly entities = new Map<EntityKind, Map<string, EntityEntry>>();
  /** every stored message by id (in blocks of ids: growing never rehashes the whole index, id-map.ts) */
  readonly messages = new IdMap<MessageEntry>();
  /** queue key -> message id -> delivered */
  readonly queues = new Map<string, QueueIds>();
  totalLive = 0;
  maxMessageId = 0;
  /**
   * The store's clock in steps of LOOK_MS as of its last tick (every flush and seal; LookClock dates
   * them). A fall of a segment's live bytes, and its seal, note it (SegmentInfo.fellIn, sealedIn): the compaction
   * (CompactionChoice) tells how long a segment's live data has stayed put without a clock read per
   * removal.
   */
  look = 0;
  /**
   * Set once the store runs (never during replay): a deleted queue's messages are handed
   * here to be let go of a slice at a time (releaseSome) instead of at once — a queue of a
   * million would hold the event loop. The queue itself is gone at once.
   */
  deferDrop: ((ids: Iterator<number>) => void) | undefined;

  constructor() {
    for (let k = EntityKind.Vhost; k <= EntityKind.Record; k++) this.entities.set(k, new Map());
  }

  addSegment(no: number, size: number, sealedIn = 0): SegmentInfo {
    const info: SegmentInfo = { no, live: 0, size, fellIn: -1, places: 0, sealedIn };
    this.segments.set(no, info);
    return info;
  }

  private addLive(seg: number, delta: number): void {
    const info = this.segments.get(seg);
    // a segment lost to corruption no longer counts
    if (!info) return;
    info.live += delta;
    this.totalLive += delta;
  }

  /** its live bytes fell because something was removed, deleted or overwritten (a compaction's move is addLive) */
  private fall(seg: number, bytes: number): void {
    const info = this.segments.get(seg);
    if (!info) return;
    info.live -= bytes;
    this.totalLive -= bytes;
    info.fellIn = this.look;
  }

  /** `moved`: a compaction's copy of the current definition (the old record's segment did not lose anything) */
  putEntity(kind: EntityKind, key: string, def: unknown, seg: number, bytes: number, moved = false): void {
    const map = this.entities.get(kind)!;
    const prev = map.get(key);
    if (prev) {
      if (moved) this.addLive(prev.seg, -prev.bytes);
      else this.fall(prev.seg, prev.bytes);
      prev.def = def;
      prev.seg = seg;
      prev.bytes = bytes;
    } else {
      map.set(key, { def, seg, bytes });
    }
    this.addLive(seg, bytes);
  }

  /** deletes with RabbitMQ's cascades: a vhost takes its contents, a user its permissions, ... */
  deleteEntity(kind: EntityKind, key: string): void {
    const map = this.entities.get(kind)!;
    const prev = map.get(key);
    if (prev) {
      map.delete(key);
      this.fall(prev.seg, prev.bytes);
    }
    switch (kind) {
      case EntityKind.Vhost:
        this.dropVhostContents(key);
        break;
      case EntityKind.User:
        this.dropWhere(EntityKind.Permission, (d) => (d as PermissionDef).user === key);
        break;
      case EntityKind.Queue: {
        this.dropQueueMessages(key);
        const [vhost, name] = splitScoped(key);
        this.dropWhere(EntityKind.Binding, (d) => {
          const b = d as BindingDef;
          return b.vhost === vhost && b.destinationType === 'queue' && b.destination === name;
        });
        break;
      }
      case EntityKind.Exchange: {
        const [vhost, name] = splitScoped(key);
        this.dropWhere(EntityKind.Binding, (d) => {
          const b = d as BindingDef;
          return b.vhost === vhost && (b.source === name || (b.destinationType === 'exchange' && b.destination === name));
        });
        break;
      }
      default:
        break;
    }
  }

  private dropVhostContents(vhost: string): void {
    const inVhost = (d: unknown) => (d as { vhost: string }).vhost === vhost;
    for (const kind of [EntityKind.Exchange, EntityKind.Queue, EntityKind.Binding, EntityKind.Policy, EntityKind.Permission]) {
      this.dropWhere(kind, inVhost);
    }
    const prefix = `${vhost}\u0000`;
    for (const key of [...this.queues.keys()]) if (key.startsWith(prefix)) this.dropQueueMessages(key);
  }

  private dropWhere(kind: EntityKind, match: (def: unknown) => boolean): void {
    const map = this.entities.get(kind)!;
    for (const [key, entry] of map) {
      if (!match(entry.def)) continue;
      map.delete(key);
      this.fall(entry.seg, entry.bytes);
      if (kind === EntityKind.Queue) this.dropQueueMessages(key);
    }
  }

  private dropQueueMessages(queueKey: string): void {
    const q = this.queues.get(queueKey);
    if (!q) return;
    this.queues.delete(queueKey);
    this.movePlace(q, -1);
    if (this.deferDrop && q.size > DROP_AT_ONCE) this.deferDrop(q.keys());
    else for (const id of q.keys()) this.release(id);
  }

  /** up to `max` of a deleted queue's messages let go of (deferDrop); true once `ids` is done */
  releaseSome(ids: Iterator<number>, max: number): boolean {
    for (let n = 0; n < max; n++) {
      const r = ids.next();
      if (r.done) return true;
      this.release(r.value);
    }
    return false;
  }

  /** a message no live queue holds any more (its deleted queues' releases are still to come): dead now; a compaction's doing, not a fall */
  forgetMessage(id: number): void {
    const entry = this.messages.get(id);
    if (!entry) return;
    this.messages.delete(id);
    this.addLive(entry.seg, -entry.bytes);
  }

  /**
   * The message sits in these queues (delivered flags alongside). A record for an id
   * already known is a compaction copy: it moves the message's bytes to the new place.
   */
  putMessage(
    id: number,
    seg: number,
    bytes: number,
    queueKeys: readonly string[],
    delivered: readonly boolean[] | undefined,
    message: Message | undefined,
    offset: number,
  ): void {
    if (id > this.maxMessageId) this.maxMessageId = id;
    let entry = this.messages.get(id);
    if (entry) {
      this.addLive(entry.seg, -entry.bytes);
      entry.seg = seg;
      entry.offset = offset;
      entry.bytes = bytes;
      if (message) entry.message = message;
    } else {
      entry = { seg, offset, bytes, refs: 0, message };
      this.messages.set(id, entry);
    }
    this.addLive(seg, bytes);
    for (let i = 0; i < queueKeys.length; i++) {
      const key = queueKeys[i]!;
      let q = this.queues.get(key);
      if (!q) {
        q = new QueueIds();
        this.queues.set(key, q);
      }
      if (!q.has(id)) entry.refs++;
      q.set(id, delivered ? delivered[i]! : false);
    }
    if (entry.refs === 0) this.release(id);
  }

  /** true when the queue held the message */
  removeMessage(queueKey: string, id: number): boolean {
    const q = this.queues.get(queueKey);
    if (!q || !q.delete(id)) return false;
    // an emptied queue's consumer reads nowhere: it waits for new messages at the head (review-s15-1 K3)
    const seg = q.size === 0 ? -1 : this.messages.get(id)?.seg;
    if (seg !== undefined && seg !== q.place) this.movePlace(q, seg);
    this.release(id);
    return true;
  }

  /** the queue's consumer now reads in segment `seg` (-1: nowhere, the queue is gone) */
  private movePlace(q: QueueIds, seg: number): void {
    const was = this.segments.get(q.place);
    if (was) was.places--;
    const now = this.segments.get(seg);
    if (now) now.places++;
    q.place = seg;
  }

  /** true when this changed the flag */
  markDelivered(queueKey: string, id: number): boolean {
    const q = this.queues.get(queueKey);
    if (!q || q.get(id) !== false) return false;
    q.set(id, true);
    return true;
  }

  /** one queue fewer holds it; the last one makes it dead */
  private release(id: number): void {
    const entry = this.messages.get(id);
    if (!entry) return;
    if (--entry.refs > 0) return;
    this.messages.delete(id);
    this.fall(entry.seg, entry.bytes);
  }

  /**
   * The broker's view; afterwards message bodies are the broker's to hold, not ours.
   * Messages replay did not decode come from `read` when the broker asks for them.
   */
  toRecoveredState(read: (id: number) => Message | undefined): RecoveredState {
    const defs = <T>(kind: EntityKind) => [...this.entities.get(kind)!.values()].map((e) => e.def as T);
    const records = new Map<string, Map<string, unknown>>();
    for (const e of this.entities.get(EntityKind.Record)!.values()) {
      const r = e.def as KeyedRecord;
      let ns = records.get(r.namespace);
      if (!ns) records.set(r.namespace, (ns = new Map()));
      ns.set(r.key, r.value);
    }
    // replay leaves messages undecoded: hand them over by id (compact); any decoded one, as objects
    let decoded = false;
    for (const entry of this.messages.values()) if (entry.message) decoded = true;
    const stored = decoded ? undefined : this.storedMessages();
    const messages = stored ? lazyMessages(stored, read) : this.recoveredMessages(read);
    for (const entry of this.messages.values()) entry.message = undefined;
    const state: RecoveredState = {
      vhosts: defs<VhostDef>(EntityKind.Vhost),
      users: defs<UserDef>(EntityKind.User),
      permissions: defs<PermissionDef>(EntityKind.Permission),
      exchanges: defs<ExchangeDef>(EntityKind.Exchange),
      queues: defs<QueueDef>(EntityKind.Queue),
      bindings: defs<BindingDef>(EntityKind.Binding),
      policies: defs<PolicyDef>(EntityKind.Policy),
      records,
      messages: undefined as never,
      maxMessageId: this.maxMessageId,
    };
    if (stored) {
      state.stored = stored;
      // built on first use only (tests look at it; the broker reads `stored`)
      let built: Map<string, RecoveredMessage[]> | undefined;
      Object.defineProperty(state, 'messages', { enumerable: true, configurable: true, get: () => (built ??= messages()), set: (v) => (built = v) });
    } else state.messages = messages();
    return state;
  }

  /** each queue's messages by id, in queue order */
  private storedMessages(): Map<string, StoredMessages> {
    const out = new Map<string, StoredMessages>();
    for (const [key, q] of this.queues) {
      let ids = new Float64Array(q.size);
      let delivered = new Uint8Array(q.size);
      let n = 0;
      let sorted = true;
      for (const [id, d] of q) {
        if (!this.messages.has(id)) continue;
        if (n > 0 && id < ids[n - 1]!) sorted = false;
        ids[n] = id;
        delivered[n++] = d ? 1 : 0;
      }
      if (n === 0) continue;
      if (n < ids.length) {
        ids = ids.slice(0, n);
        delivered = delivered.slice(0, n);
      }
      // compaction copies land after newer messages; queue order is id order
      if (!sorted) {
        const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
        const d = delivered;
        const s = ids;
        ids = Float64Array.from(order, (i) => s[i]!);
        delivered = Uint8Array.from(order, (i) => d[i]!);
      }
      out.set(key, { ids, delivered });
    }
    return out;
  }

  /** each queue's messages as objects, decoded ones as they are */
  private recoveredMessages(read: (id: number) => Message | undefined): () => Map<string, RecoveredMessage[]> {
    const messages = new Map<string, RecoveredMessage[]>();
    for (const [key, q] of this.queues) {
      const list: RecoveredMessage[] = [];
      for (const [id, delivered] of q) {
        const entry = this.messages.get(id);
        if (!entry) continue;
        list.push(entry.message ? { id, message: entry.message, delivered } : new StoredMessage(id, delivered, read));
      }
      // compaction copies land after newer messages; queue order is id order
      list.sort((a, b) => a.id - b.id);
      if (list.length > 0) messages.set(key, list);
    }
    return () => messages;
  }
}

/** `stored` as RecoveredMessage objects, made when called */
function lazyMessages(stored: Map<string, StoredMessages>, read: (id: number) => Message | undefined): () => Map<string, RecoveredMessage[]> {
  return () => {
    const out = new Map<string, RecoveredMessage[]>();
    for (const [key, s] of stored) out.set(key, Array.from(s.ids, (id, i) => new StoredMessage(id, s.delivered[i] === 1, read)));
    return out;
  };
}

function splitScoped(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** a recovered message read from the journal on first use (then the queue may page it out again) */
class StoredMessage implements RecoveredMessage {
  /** on the prototype: a million of these are made at once */
  get stored(): boolean {
    return true;
  }

  constructor(
    readonly id: number,
    readonly delivered: boolean,
    private readonly read: (id: number) => Message | undefined,
  ) {}

  /** undefined (despite the type) when the record cannot be read back: the store has logged why */
  get message(): Message {
    return this.read(this.id) as Message;
  }
}
