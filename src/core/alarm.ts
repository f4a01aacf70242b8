import { Stored } from './exchanges/routing.js';
import type { StoreFlow, StoreFlowHeld } from './store-flow.js';

/** RabbitMQ's names for what an alarm is about: memory, and disk (free space under the limit, or a failing store) */
export type AlarmResource = 'memory' | 'disk';

/**
 * Why the disk alarm is on: the data dir's free space is under disk_free_limit (the server's
 * disk monitor), or the store cannot write (durability retries wait for that one to clear).
 * Clients see one disk alarm either way, as RabbitMQ's.
 */
export type DiskCause = 'disk-free' | 'store';

/**
 * What a client connection of any protocol gives the alarm: its reading, and (AMQP) a way
 * to tell the client. Adapters implement this and hold one PublisherFlow each.
 */
export interface FlowControlled {
  /** stop reading the client's socket: what it publishes waits in the kernel */
  pauseReading(): void;
  resumeReading(): void;
  /**
   * The alarm went on or off for this connection (AMQP: connection.blocked / unblocked).
   * Called before reading resumes.
   */
  alarmChanged?(on: boolean, resources: readonly AlarmResource[]): void;
  /**
   * The journal's credit flow holds (true) or lets go of (false) this connection, for a protocol
   * whose publishers can be stopped by credit (AMQP 1.0 link credit): it grants none while held,
   * and its reading is not paused for the hold (the adapter may still hold() it, for what credit
   * granted before cannot stop). Without this, the hold pauses the reading.
   */
  creditHeld?(on: boolean): void;
}

/**
 * A connection's state as RabbitMQ's management shows it (rabbit_reader's `state` info item),
 * as far as back-pressure goes: `flow` while the store's credit flow holds it (not after:
 * rabbit_reader's control_throttle drops `flow` from the reasons it is blocked by once credit
 * comes back); under the alarm `blocked` once it published, `blocking` before that (every
 * connection, consumers too: RabbitMQ 3.10.8 asked); else `running`.
 */
export type FlowState = 'running' | 'flow' | 'blocking' | 'blocked';

/**
 * One connection's side of the alarm, RabbitMQ's rule: once the alarm is on, a connection
 * that publishes stops being read until the alarm clears. The publish that crosses the
 * watermark does not stop its own connection (it could never drain the queue otherwise).
 * Only back-pressure lives here (the alarm, the durability backlog's holds): a connection's
 * share of the event loop is its protocol adapter's input policy (protocols/common/read-slices.ts).
 */
export class PublisherFlow implements StoreFlowHeld {
  private blocked = false;
  /** the alarm stopped this connection's reading (it published while blocked) */
  private paused = false;
  /** durability backlogs holding the reading (see hold) */
  private holds = 0;
  private reading = true;
  private closed = false;
  /** the store's credit flow holds the reading now (StoreFlow) */
  private flowHeldNow = false;
  /** counts the store's holds of this connection: which hold a channel's publish joined (ChannelFlow) */
  private flowHolds = 0;

  constructor(
    private readonly alarms: Alarms,
    private readonly client: FlowControlled,
    /** the journal's credit flow (Broker.storeFlow); without it, only the alarm and durability backlogs hold */
    private readonly storeFlow?: StoreFlow,
  ) {
    alarms.subscribe(this);
  }

  /**
   * A publish of this connection came back with `flags` (VHost.publish): one that went to the
   * journal while the journal is behind its bound holds the reading until it catches up
   * (StoreFlow). A flag test and a field read per publish. True when the publish found the
   * journal behind: the credit flow holds this connection now (its channel is in flow too).
   */
  stored(flags: number): boolean {
    if (!(flags & Stored && this.storeFlow?.behind)) return false;
    this.storeFlow.stored(this);
    return true;
  }

  /**
   * StoreFlow: it holds (true) or let go of (false) this connection: by credit where the
   * protocol has it (FlowControlled.creditHeld), else by its reading
   */
  flowHeld(on: boolean): void {
    if (this.closed) return;
    this.flowHeldNow = on;
    if (on) this.flowHolds++;
    if (this.client.creditHeld) this.client.creditHeld(on);
    else this.hold(on);
  }

  /**
   * Held by credit (creditHeld), the connection took `bytes` of persistent messages on credit
   * granted before the hold: true once the held connections' shared run-ahead is spent
   * (StoreFlow.ranAhead), when the adapter pauses its reading as well (hold)
   */
  ranAhead(bytes: number): boolean {
    return this.storeFlow?.ranAhead(bytes) ?? false;
  }

  /** the store's current hold of this connection (a number per hold), or 0 when it holds none */
  get flowHold(): number {
    return this.flowHeldNow ? this.flowHolds : 0;
  }

  /**
   * The reading is held now (the alarm, the journal's credit flow, a durability backlog): the
   * client's silence is not judged meanwhile, as RabbitMQ's reader pauses its heartbeat monitor
   * while blocked or in flow (rabbit_reader maybe_block -> rabbit_heartbeat:pause_monitor): what
   * the client sends, heartbeats too, waits unread in its socket. Adapters' heartbeat, keep-alive
   * and inactivity checks skip while it is, and count silence again from the resume.
   */
  get holding(): boolean {
    return !this.reading && !this.closed;
  }

  /** what RabbitMQ's management shows as the connection's state (FlowState) */
  state(): FlowState {
    if (!this.blocked && this.flowHeldNow) return 'flow';
    if (this.blocked) return this.paused ? 'blocked' : 'blocking';
    return 'running';
  }

  /** the connection published: stop reading it if the alarm is on */
  published(): void {
    if (this.blocked && !this.paused) {
      this.paused = true;
      this.apply();
    }
  }

  /**
   * Hold (true) or release (false) the reading for another reason than the alarm: the
   * connection's publishes waiting for the disk grew past their limit (rabbit's credit flow:
   * a publisher cannot run further ahead of the store than that). Holds are counted, and
   * compose with the alarm: reading resumes once neither holds it.
   */
  hold(on: boolean): void {
    if (this.closed) return;
    this.holds += on ? 1 : -1;
    if (this.holds < 0) this.holds = 0;
    this.apply();
  }

  /** Alarms: the alarm changed */
  changed(on: boolean, resources: readonly AlarmResource[]): void {
    if (this.closed) return;
    if (on && !this.blocked) {
      this.blocked = true;
      this.client.alarmChanged?.(true, resources);
    } else if (!on && this.blocked) {
      this.blocked = false;
      this.client.alarmChanged?.(false, resources);
      this.paused = false;
      this.apply();
    }
  }

  /** the connection is gone */
  close(): void {
    this.closed = true;
    this.alarms.unsubscribe(this);
    this.storeFlow?.forget(this);
  }

  private apply(): void {
    const read = !this.paused && this.holds === 0;
    if (read === this.reading || this.closed) return;
    this.reading = read;
    if (read) this.client.resumeReading();
    else this.client.pauseReading();
  }
}

/**
 * The broker's resource alarm (RabbitMQ's rabbit_alarm): memory over the high watermark,
 * or a store that cannot write. One subscription for every connection of every protocol
 * (a Set, not an EventEmitter listener each: no MaxListenersExceededWarning past 10).
 */
export class Alarms {
  /** memory over the high watermark; read on every publish and settle (a field, not a call); set through setMemory */
  memory = false;
  /** free disk space under the limit, or the store cannot write; set through setDisk */
  disk = false;
  private readonly diskCauses = new Set<DiskCause>();
  private lastOn = false;
  private readonly flows = new Set<PublisherFlow>();
  /** one-shot waits for a resource to clear (durability retries) */
  private readonly clearWaiters = new Set<{ resource: AlarmResource | DiskCause; run: () => void }>();

  constructor(private readonly onChange: (on: boolean) => void = () => undefined) {}

  get on(): boolean {
    return this.memory || this.disk;
  }

  get resources(): AlarmResource[] {
    const on: AlarmResource[] = [];
    if (this.memory) on.push('memory');
    if (this.disk) on.push('disk');
    return on;
  }

  /** a resource, or one cause of the disk alarm */
  isOn(resource: AlarmResource | DiskCause): boolean {
    return resource === 'memory' ? this.memory : resource === 'disk' ? this.disk : this.diskCauses.has(resource);
  }

  setMemory(on: boolean): void {
    if (this.memory === on) return;
    this.memory = on;
    this.update();
  }

  /** one cause of the disk alarm (default: the store) is on or off; the alarm is on while any is */
  setDisk(on: boolean, cause: DiskCause = 'store'): void {
    if (this.diskCauses.has(cause) === on) return;
    if (on) this.diskCauses.add(cause);
    else this.diskCauses.delete(cause);
    this.disk = this.diskCauses.size > 0;
    this.update();
  }

  /** a connection joins: it hears of an alarm already on at once */
  subscribe(flow: PublisherFlow): void {
    this.flows.add(flow);
    if (this.on) flow.changed(true, this.resources);
  }

  unsubscribe(flow: PublisherFlow): void {
    this.flows.delete(flow);
  }

  /** run `fn` once `resource` (or this cause of the disk alarm) is not alarmed (at the next alarm change, or soon if it is clear now) */
  whenClear(resource: AlarmResource | DiskCause, fn: () => void): void {
    if (!this.isOn(resource)) {
      setImmediate(fn);
      return;
    }
    this.clearWaiters.add({ resource, run: fn });
  }

  /** how many connections are subscribed (tests) */
  get subscribers(): number {
    return this.flows.size;
  }

  private update(): void {
    const on = this.on;
    if (on !== this.lastOn) {
      this.lastOn = on;
      const resources = this.resources;
      for (const f of this.flows) f.changed(on, resources);
      this.onChange(on);
    }
    this.runClearWaiters();
  }

  private runClearWaiters(): void {
    for (const w of this.clearWaiters) {
      if (!this.isOn(w.resource)) {
        this.clearWaiters.delete(w);
        w.run();
      }
    }
  }
}
