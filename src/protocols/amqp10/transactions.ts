import type { Durability } from '../../core/durability.js';
import type { QueueEntry } from '../../core/queues/entry.js';
import { Transaction, type TxPublish } from '../../core/transaction.js';
import type { Composite } from './codec/composites.js';
import { Amqp10Error, Condition } from './codec/errors.js';
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
  /** the sessions enlisted in it (ActiveMQ's AmqpSession.enlist), free again once it is discharged */
  readonly sessions = new Set<Amqp10Session>();

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
    // transactions are ActiveMQ's here (RabbitMQ's AMQP 1.0 refuses them): the discharge is answered
    // once the store has what it settled too, as its OpenWire and STOMP commits (review-s16-2 T1)
    this.tx.commit(publish, done, alive, true);
    const state: Composite = { $: 'transactional-state', txnId: this.id, outcome: { $: 'accepted' } };
    for (const d of this.deliveries) if (!d.clientSettled) d.session.settledByTransaction(d.id, state);
    this.deliveries.length = 0;
    this.release();
  }

  private release(): void {
    for (const s of this.sessions) if (s.enlisted === this) s.enlisted = undefined;
    this.sessions.clear();
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
    this.release();
  }
}

/**
 * The transactions of one connection (part 4): declared through a coordinator link, named
 * by their txn-id on transfers and dispositions of any session of the connection, as
 * ActiveMQ's AMQP transport scopes them. Ids are 8-byte big-endian counters per connection
 * (ActiveMQ's LocalTransactionId value). What is not discharged rolls back when the
 * connection goes.
 *
 * What ActiveMQ 5.x refuses, refused the same way (AmqpTransactionCoordinator, AmqpSession,
 * AmqpReceiver, AmqpConnection.processCommands): a txn-id that is not 8 bytes, a declare
 * with a global-id, a coordinator message that is neither declare nor discharge, and a
 * session's first transactional transfer or disposition naming no open transaction throw
 * inside its transport, which closes the connection with amqp:decode-error "Could not
 * process AMQP commands"; a discharge of a transaction it does not have (or a transfer
 * naming one once the session is enlisted) is rejected by its broker with the condition
 * `failed` and "Transaction 'TX:…' has not been started.".
 */
export class Amqp10Transactions {
  private next = 0n;
  private readonly open = new Map<bigint, Amqp10Txn>();

  constructor(
    private readonly durability: Durability,
    private readonly connectionId: string,
  ) {}

  get size(): number {
    return this.open.size;
  }

  declare(): Amqp10Txn {
    const id = Buffer.alloc(8);
    id.writeBigUInt64BE(++this.next);
    const txn = new Amqp10Txn(id, this.durability);
    this.open.set(this.next, txn);
    return txn;
  }

  /** the open transaction `id` names, if any */
  find(id: unknown): Amqp10Txn | undefined {
    return this.open.get(txnNumber(id));
  }

  /** the transaction a discharge ends (no longer open, whatever its outcome), or undefined */
  take(id: unknown): Amqp10Txn | undefined {
    const n = txnNumber(id);
    const txn = this.open.get(n);
    this.open.delete(n);
    return txn;
  }

  /** ActiveMQ's refusal of a transaction it does not have (TransactionBroker.getTransaction) */
  notStarted(id: unknown): Composite {
    const n = BigInt.asIntN(64, txnNumber(id));
    return { $: 'error', condition: FAILED, description: `Transaction 'TX:${this.connectionId}:${n}' has not been started.` };
  }

  /** the connection is going: nothing undischarged is applied */
  rollbackAll(): void {
    for (const txn of this.open.values()) txn.tx.rollback();
    this.open.clear();
  }
}

/** ActiveMQ's non-standard condition for a refusal its broker answered */
export const FAILED = 'failed';

/** ActiveMQ's transport failing on what it cannot process: the connection closes */
export function couldNotProcess(): Amqp10Error {
  return new Amqp10Error(Condition.decodeError, 'Could not process AMQP commands', 'connection');
}

/** AmqpSupport.toLong: the txn-id's 8 bytes as a long; anything else fails the connection */
function txnNumber(id: unknown): bigint {
  if (!Buffer.isBuffer(id) || id.length < 8) throw couldNotProcess();
  return id.readBigUInt64BE(0);
}
