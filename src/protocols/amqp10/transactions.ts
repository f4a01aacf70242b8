import type { Durability } from '../../core/durability.js';
import type { QueueEntry } from '../../core/queues/entry.js';
import { Transaction, type TxPublish } from '../../core/transaction.js';
import type { Composite } from './codec/composites.js';
import { Amqp10Error, Condition, type ErrorScope } from './codec/errors.js';
import type { OutgoingLink } from './outgoing-link.js';
import type { Amqp10Session } from './session.js';

/**
 * A delivery LocalMQ sent that the client settled inside a transaction (a disposition with
 * transactional-state): its outcome is applied by the core Transaction at commit. What stays
 * here is the AMQP side: which session and delivery id it was, and whether the client
 * settled it (a settled one is sent again after a rollback; an unsettled one stays acquired
 * by the client, which may settle it again).
 */
export interface TxDelivery {
  session: Amqp10Session;
  id: number;
  link: OutgoingLink;
  tag: number;
  entry: QueueEntry;
  clientSettled: boolean;
}

/** the coordinator capabilities LocalMQ offers (part 4.2): transactions local to this broker, any number per session, across sessions */
export const TXN_CAPABILITIES = ['amqp:local-transactions', 'amqp:multi-txns-per-ssn', 'amqp:multi-ssns-per-txn'];

/** one declared transaction: its id, its work in the core, and the deliveries its dispositions name */
export class Amqp10Txn {
  readonly tx: Transaction;
  readonly deliveries: TxDelivery[] = [];

  constructor(
    readonly id: Buffer,
    durability: Durability,
  ) {
    this.tx = new Transaction(durability);
  }

  /** an outcome for one delivery, applied at commit */
  settle(d: TxDelivery, outcome: Composite): void {
    this.deliveries.push(d);
    this.tx.settle(() => d.link.settle(d.tag, d.entry, outcome));
  }

  /**
   * Apply the work: publishes routed and outcomes applied, in order (the core Transaction);
   * deliveries the client left unsettled are settled by us. `done` once the commit is durable.
   */
  commit(publish: TxPublish, done: () => void, alive: () => boolean): void {
    this.tx.commit(publish, done, alive);
    const state: Composite = { $: 'transactional-state', txnId: this.id, outcome: { $: 'accepted' } };
    for (const d of this.deliveries) if (!d.clientSettled) d.session.settledByTransaction(d.id, state);
    this.deliveries.length = 0;
  }

  /**
   * Forget the work. Deliveries the client settled come back to it (requeued as a failed
   * delivery, as ActiveMQ redelivers them with a higher redelivery count); those it had not
   * settled stay acquired by the client, unsettled, as before the transaction (part 4.4.2).
   */
  rollback(): void {
    this.tx.rollback();
    for (const d of this.deliveries) {
      if (d.clientSettled) d.link.settle(d.tag, d.entry, { $: 'modified', deliveryFailed: true });
      else d.session.restoreSent(d.id, d.link, d.tag, d.entry);
    }
    this.deliveries.length = 0;
  }
}

/**
 * The transactions of one connection (part 4): declared through a coordinator link, named
 * by their txn-id on transfers and dispositions of any session of the connection, as
 * ActiveMQ's AMQP transport scopes them. Ids are 8-byte big-endian counters per connection
 * (ActiveMQ's LocalTransactionId value). What is not discharged rolls back when the
 * connection goes.
 */
export class Amqp10Transactions {
  private next = 0n;
  private readonly open = new Map<string, Amqp10Txn>();

  constructor(private readonly durability: Durability) {}

  get size(): number {
    return this.open.size;
  }

  declare(): Amqp10Txn {
    const id = Buffer.alloc(8);
    id.writeBigUInt64BE(++this.next);
    const txn = new Amqp10Txn(id, this.durability);
    this.open.set(id.toString('hex'), txn);
    return txn;
  }

  /** the open transaction `id` names, or amqp:transaction:unknown-id at `scope` */
  get(id: unknown, scope: ErrorScope): Amqp10Txn {
    const txn = Buffer.isBuffer(id) ? this.open.get(id.toString('hex')) : undefined;
    if (!txn) throw new Amqp10Error(Condition.transactionUnknownId, `unknown transaction id ${describeId(id)}`, scope);
    return txn;
  }

  /** the transaction a discharge ends: no longer open, whatever its outcome */
  take(id: unknown, scope: ErrorScope): Amqp10Txn {
    const txn = this.get(id, scope);
    this.open.delete(txn.id.toString('hex'));
    return txn;
  }

  /** the connection is going: nothing undischarged is applied */
  rollbackAll(): void {
    for (const txn of this.open.values()) txn.tx.rollback();
    this.open.clear();
  }
}

function describeId(id: unknown): string {
  return Buffer.isBuffer(id) ? `0x${id.toString('hex')}` : String(id);
}
