import type { Consumer } from '../../core/consumer.js';
import { consumerTimedOut } from '../../core/errors.js';
import type { QueueEntry } from '../../core/queues/entry.js';
import type { Session as CoreSession } from '../../core/session.js';
import type { Composite, Attach, Begin, Detach, Disposition, Flow, Transfer, End } from './codec/composites.js';
import { Amqp10Error, Condition } from './codec/errors.js';
import { uint } from './codec/types.js';
import type { Amqp10Connection } from './connection.js';
import { toAmqpError } from './connection.js';
import { IncomingLink } from './incoming-link.js';
import { OutgoingLink } from './outgoing-link.js';
import { couldNotProcess, type Amqp10Txn } from './transactions.js';

/** our incoming window: refreshed when half of it is used */
const INCOMING_WINDOW = 65536;
/** serial-number arithmetic on 32-bit sequence numbers (RFC 1982) */
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;

export type Link = IncomingLink | OutgoingLink;

/** an unsettled delivery we sent: the link it went on and its core delivery tag */
interface SentDelivery {
  link: OutgoingLink;
  tag: number;
  entry: QueueEntry;
}

/**
 * One AMQP 1.0 session: its transfer windows (part 2.5.6), its links by handle, the
 * delivery ids of transfers both ways, and dispositions. Deliveries to the client are
 * tracked by one core Session (tags, unacked, requeue on close).
 */
export class Amqp10Session {
  readonly remoteChannel: number;
  /** transfer ids we expect next / send next */
  nextIncomingId: number;
  nextOutgoingId = 0;
  incomingWindow = INCOMING_WINDOW;
  /**
   * RabbitMQ profile: the resource alarm shut our incoming window (shutWindow); transfers the
   * peer sent before it heard are let in up to this many past it (incomingWindow goes negative)
   */
  private windowShut = false;
  private windowMargin = 0;
  /** what the peer lets us send: frames left in its incoming window */
  remoteIncomingWindow: number;
  readonly links = new Map<number, Link>();
  readonly core: CoreSession;
  private readonly sent = new Map<number, SentDelivery>();
  private ended = false;
  /** handles we detached (with an error) whose detach the peer has not answered: their frames are dropped */
  private readonly detachedByUs = new Set<number>();
  private readonly handleMax = 0xffffffff;
  /** the transaction this session's transactional work enlisted it in, until discharged (ActiveMQ's AmqpSession.enlist) */
  enlisted: Amqp10Txn | undefined;

  constructor(
    readonly conn: Amqp10Connection,
    readonly channel: number,
    begin: Begin,
  ) {
    this.remoteChannel = channel;
    this.nextIncomingId = begin.nextOutgoingId;
    this.remoteIncomingWindow = begin.incomingWindow;
    // RabbitMQ 4 begins a session under the alarm with its window shut (rabbit_amqp_session init)
    if (conn.blocked && conn.alarmShutsWindows) {
      this.windowShut = true;
      this.incomingWindow = 0;
    }
    this.core = conn.ctx.broker.openSession(conn.vhostModel!, conn);
    this.watchConsumerTimeout();
  }

  /**
   * RabbitMQ's consumer timeout on an AMQP 1.0 session, each version's way (VersionRules
   * amqp10ConsumerTimeout; the core keeps the time): 3.13 ends the session with its backing
   * channel's 406 text; 4.3 releases a quorum consumer's timed-out deliveries; 4.2 and
   * ActiveMQ have none.
   */
  private watchConsumerTimeout(): void {
    const mode = this.conn.ctx.dialect === 'rabbitmq' ? this.conn.ctx.broker.engineRules.amqp10ConsumerTimeout : 'none';
    if (mode === 'end-session') {
      this.core.watchAckTimeout((ms) =>
        this.conn.endSession(this, { $: 'error', condition: Condition.preconditionFailed, description: consumerTimedOut(1, ms).replyText }),
      );
    } else if (mode === 'release') {
      this.core.watchAckTimeout((_ms, d) => d.consumer && this.releaseTimedOut(d.consumer), 'quorum-queue');
    }
  }

  /**
   * RabbitMQ 4.3 (rabbit_amqp_session handle_stashed_consumer_timeout): the deliveries the core
   * released get a disposition `released`, unsettled (part 2.6.12: a sender's spontaneous
   * terminal state, settled once the receiver confirms); they stay unsettled here, and the
   * receiver's settlement of each, whatever its outcome, lets the link deliver again.
   */
  private releaseTimedOut(c: Consumer): void {
    const tags = new Set(this.core.releaseTimedOut(c).map((d) => d.tag));
    if (tags.size === 0) return;
    const ids: number[] = [];
    for (const [id, s] of this.sent) if (tags.has(s.tag)) ids.push(id);
    const link = [...this.sent.values()].find((s) => tags.has(s.tag))?.link;
    this.conn.log.info('AMQP 1.0 consumer timeout: released unsettled messages', { link: link?.name, queue: c.queue.name, count: ids.length });
    this.sendDispositions(false, ids, { $: 'released' }, false);
  }

  /**
   * The transaction a transactional transfer or disposition names. As ActiveMQ's
   * AmqpSession.enlist: a session not yet enlisted must name an open transaction (else its
   * transport fails: the connection closes); an enlisted one gets undefined for an id that
   * names none, and the caller refuses as ActiveMQ's broker does.
   */
  enlist(id: unknown): Amqp10Txn | undefined {
    const txn = this.conn.transactions.find(id);
    if (!this.enlisted) {
      if (!txn) throw couldNotProcess();
      this.enlisted = txn;
      txn.sessions.add(this);
    }
    return txn;
  }

  sendBegin(): void {
    this.conn.send(this.channel, {
      $: 'begin',
      remoteChannel: this.remoteChannel,
      nextOutgoingId: uint(this.nextOutgoingId),
      incomingWindow: uint(this.incomingWindow),
      outgoingWindow: uint(0x7fffffff),
      handleMax: uint(this.handleMax),
    } as Composite);
  }

  onPerformative(p: Composite, payload: Buffer): void {
    switch (p.$) {
      case 'attach':
        return this.onAttach(p as unknown as Attach);
      case 'flow':
        return this.onFlow(p as unknown as Flow);
      case 'transfer':
        return this.onTransfer(p as unknown as Transfer, payload);
      case 'disposition':
        return this.onDisposition(p as unknown as Disposition);
      case 'detach':
        return this.onDetach(p as unknown as Detach);
      case 'end':
        return this.onEnd(p as unknown as End);
      default:
        throw new Amqp10Error(Condition.illegalState, `${p.$} is not a session performative`, 'connection');
    }
  }

  // ---- links ---------------------------------------------------------------------

  private onAttach(a: Attach): void {
    if (this.links.has(a.handle)) {
      throw new Amqp10Error(Condition.handleInUse, `handle ${a.handle} is already attached`, 'session');
    }
    // the client's role: a receiver attaches to our sender (we deliver), a sender to our receiver
    const link: Link = a.role ? new OutgoingLink(this, a) : new IncomingLink(this, a);
    this.links.set(a.handle, link);
    try {
      link.attach();
    } catch (err) {
      // refuse the link: an attach with no terminus, then a detach with the error (part 2.6.3)
      this.links.delete(a.handle);
      this.detachedByUs.add(a.handle);
      link.refuse(toAmqpError(err));
      const e = toAmqpError(err);
      this.conn.log.info('AMQP 1.0 link refused', { link: a.name, condition: e.condition, description: e.description });
    }
  }

  private onDetach(d: Detach): void {
    // the peer answering our detach
    if (this.detachedByUs.delete(d.handle)) return;
    const link = this.links.get(d.handle);
    if (!link) throw new Amqp10Error(Condition.unattachedHandle, `detach of handle ${d.handle}, which is not attached`, 'session');
    this.links.delete(d.handle);
    link.detached(d.closed === true);
    this.conn.send(this.channel, { $: 'detach', handle: uint(d.handle), closed: d.closed === true } as Composite);
  }

  /** a link ends itself with an error (its queue was deleted, a limit was broken) */
  detachWithError(link: Link, condition: string, description: string): void {
    if (this.links.get(link.handle) !== link) return;
    this.links.delete(link.handle);
    this.detachedByUs.add(link.handle);
    link.detached(true);
    this.conn.send(this.channel, { $: 'detach', handle: uint(link.handle), closed: true, error: { $: 'error', condition, description } } as Composite);
  }

  /** the link of a frame, or undefined for one we detached and the peer has not yet */
  private link(handle: number | undefined, what: string): Link | undefined {
    if (handle !== undefined && this.detachedByUs.has(handle)) return undefined;
    const link = handle === undefined ? undefined : this.links.get(handle);
    if (!link) {
      // part 2.7.4/2.7.5: an unattached handle is a session error
      throw new Amqp10Error(Condition.unattachedHandle, `${what} on handle ${handle}, which is not attached`, 'session');
    }
    return link;
  }

  // ---- flow ----------------------------------------------------------------------

  private onFlow(f: Flow): void {
    // the peer's window, from its view of our ids (part 2.5.6)
    const theirNextIncoming = f.nextIncomingId ?? this.nextOutgoingId;
    this.remoteIncomingWindow = Math.max(0, theirNextIncoming + f.incomingWindow - this.nextOutgoingId);
    if (f.handle === undefined) {
      if (f.echo) this.sendSessionFlow();
      this.resume();
      return;
    }
    this.link(f.handle, 'flow')?.onFlow(f);
  }

  sessionFlowFields(): Record<string, unknown> {
    return {
      nextIncomingId: uint(this.nextIncomingId),
      incomingWindow: uint(Math.max(0, this.incomingWindow)),
      nextOutgoingId: uint(this.nextOutgoingId),
      outgoingWindow: uint(0x7fffffff),
    };
  }

  /**
   * RabbitMQ profile, the resource alarm went on (true) or cleared: as RabbitMQ 4
   * (rabbit_amqp_session conserve_resources) the session's incoming window is set to 0 and the
   * peer told at once, so a sender stops before its next transfer whatever link credit it holds
   * (credit granted before the alarm cannot be taken back: 170 x 64 KiB per link); transfers
   * already on their way are no window violation up to a window's worth past it (RabbitMQ 4's
   * incoming_window_margin), but the first may stop the connection's reading (onTransfer); cleared,
   * the window opens again.
   */
  shutWindow(on: boolean): void {
    if (on === this.windowShut || this.ended) return;
    this.windowShut = on;
    this.windowMargin = on ? INCOMING_WINDOW : 0;
    this.incomingWindow = on ? 0 : INCOMING_WINDOW;
    this.sendSessionFlow();
  }

  /** a link's flow, with the session's window fields */
  sendLinkFlow(handle: number, link: Record<string, unknown>): void {
    this.conn.send(this.channel, { $: 'flow', ...this.sessionFlowFields(), handle: uint(handle), ...link } as Composite);
  }

  sendSessionFlow(): void {
    this.conn.send(this.channel, { $: 'flow', ...this.sessionFlowFields() } as Composite);
  }

  /** the session has a link on which LocalMQ sends (a consumer, a browser) */
  get sends(): boolean {
    for (const l of this.links.values()) if (l instanceof OutgoingLink) return true;
    return false;
  }

  /** links may send again: socket drained, window opened, credit granted */
  resume(): void {
    for (const l of this.links.values()) if (l instanceof OutgoingLink) l.resume();
  }

  /** the alarm cleared or the journal's credit flow let go: links grant credit again (if nothing else holds it) */
  creditMayFlow(): void {
    for (const l of this.links.values()) if (l instanceof IncomingLink) l.creditMayFlow();
  }

  // ---- transfers -----------------------------------------------------------------

  private onTransfer(t: Transfer, payload: Buffer): void {
    const link = this.link(t.handle, 'transfer');
    if (!link) return;
    if (!(link instanceof IncomingLink)) {
      throw new Amqp10Error(Condition.notAllowed, `transfer on handle ${t.handle}, which is LocalMQ's sender`, 'session');
    }
    if (this.incomingWindow <= -this.windowMargin) throw new Amqp10Error(Condition.windowViolation, 'transfer beyond the incoming window', 'session');
    // RabbitMQ profile, a transfer under the alarm (4.x: past the shut window, written before the client
    // heard) may stop its connection's reading until the alarm clears (Amqp10Connection.publishedUnderAlarm:
    // 3.13's reader rule; elsewhere LocalMQ's bound for a connection that consumes nothing). Checked
    // before the publish: the one that crosses the watermark does not stop its own connection.
    if (this.conn.blocked && this.conn.ctx.dialect === 'rabbitmq') this.conn.publishedUnderAlarm();
    this.nextIncomingId = seqAdd(this.nextIncomingId, 1);
    this.incomingWindow--;
    if (!this.windowShut && this.incomingWindow < INCOMING_WINDOW / 2) {
      this.incomingWindow = INCOMING_WINDOW;
      this.sendSessionFlow();
    }
    link.onTransfer(t, payload);
  }

  /** id for an outgoing transfer; counts against the peer's incoming window */
  takeOutgoingId(frames: number): number {
    const id = this.nextOutgoingId;
    this.nextOutgoingId = seqAdd(this.nextOutgoingId, frames);
    this.remoteIncomingWindow = Math.max(0, this.remoteIncomingWindow - frames);
    return id;
  }

  get canSend(): boolean {
    return this.remoteIncomingWindow > 0 && this.conn.writable && !this.ended;
  }

  /** only the connection's write buffer stops sends now (it reopens at the socket's 'drain': resume()) */
  get waitsForWrite(): boolean {
    return this.remoteIncomingWindow > 0 && !this.conn.writable && !this.ended;
  }

  trackSent(deliveryId: number, link: OutgoingLink, tag: number, entry: QueueEntry): void {
    this.sent.set(deliveryId, { link, tag, entry });
  }

  /**
   * settle what a link left unsettled (it detached): back to its queue. Not when the session
   * ends: the core session returns them all then, as failed deliveries (a consumer gone)
   */
  forgetLink(link: OutgoingLink): void {
    if (this.ended) return;
    for (const [id, d] of this.sent) {
      if (d.link !== link) continue;
      this.sent.delete(id);
      link.giveBack(d.tag);
    }
  }

  /** a delivery a rolled-back transaction had taken: unsettled again, or given back when its link is gone */
  restoreSent(id: number, link: OutgoingLink, tag: number, entry: QueueEntry): void {
    if (!this.ended && this.links.get(link.handle) === link) this.sent.set(id, { link, tag, entry });
    else link.giveBack(tag);
  }

  /** a committed transaction settles a delivery the client left unsettled */
  settledByTransaction(id: number, state: Composite): void {
    if (!this.ended) this.sendDispositions(false, [id], state);
  }

  // ---- dispositions --------------------------------------------------------------

  private onDisposition(d: Disposition): void {
    if (!d.role) return; // the client as sender: it settles what we accepted; nothing to do
    const first = d.first;
    const last = d.last ?? first;
    const span = ((last - first) >>> 0) + 1;
    const settleBack: number[] = [];
    let apply = (id: number) => {
      const s = this.sent.get(id);
      if (!s) return;
      this.sent.delete(id);
      s.link.settle(s.tag, s.entry, d.state);
      if (!d.settled) settleBack.push(id);
    };
    const state = d.state;
    if (state?.$ === 'transactional-state') {
      // transactional retirement (part 4.4.2): the outcome waits for the discharge
      // an id naming no transaction on an enlisted session: ActiveMQ takes the ack into the
      // transaction the session is enlisted in (AmqpSender.delivery), so does LocalMQ
      const txn = this.enlist(state['txnId']) ?? this.enlisted!;
      const outcome = state['outcome'] as Composite | undefined;
      if (!outcome) return; // no outcome yet: nothing to apply
      const clientSettled = d.settled === true;
      apply = (id: number) => {
        const s = this.sent.get(id);
        if (!s) return;
        this.sent.delete(id);
        txn.settle({ session: this, id, link: s.link, tag: s.tag, entry: s.entry, clientSettled }, outcome);
        if (!clientSettled) settleBack.push(id);
      };
      if (span <= this.sent.size) {
        for (let i = 0; i < span; i++) apply((first + i) >>> 0);
      } else {
        for (const id of [...this.sent.keys()]) if (((id - first) >>> 0) < span) apply(id);
      }
      // provisionally: the state is the transaction's, the delivery settles at commit (as ActiveMQ answers)
      if (settleBack.length) this.sendDispositions(false, settleBack, { $: 'transactional-state', txnId: txn.id, outcome }, false);
      return;
    }
    if (span <= this.sent.size) {
      for (let i = 0; i < span; i++) apply((first + i) >>> 0);
    } else {
      for (const id of [...this.sent.keys()]) if (((id - first) >>> 0) < span) apply(id);
    }
    // the client settles second: we settle now and say so
    if (settleBack.length) this.sendDispositions(false, settleBack, d.state ?? { $: 'accepted' });
  }

  /** dispositions for `ids` (sorted runs become ranges), settled unless told */
  sendDispositions(role: boolean, ids: number[], state: Composite | undefined, settled = true): void {
    let i = 0;
    while (i < ids.length) {
      let j = i;
      while (j + 1 < ids.length && ids[j + 1] === seqAdd(ids[j]!, 1)) j++;
      this.conn.send(this.channel, {
        $: 'disposition',
        role,
        first: uint(ids[i]!),
        last: j > i ? uint(ids[j]!) : undefined,
        settled,
        state,
      } as Composite);
      i = j + 1;
    }
  }

  // ---- end -----------------------------------------------------------------------

  private onEnd(e: End): void {
    if (e.error) this.conn.log.debug('client ended a session with an error', { condition: e.error.condition, description: e.error.description });
    this.teardown();
    this.conn.sessionEnded(this);
    this.conn.send(this.channel, { $: 'end' });
  }

  /** links go (consumers cancelled, unsettled deliveries back to their queues) */
  teardown(): void {
    if (this.ended) return;
    this.ended = true;
    for (const l of this.links.values()) l.detached(false);
    this.links.clear();
    this.sent.clear();
    this.core.close();
  }
}
