import { randomBytes } from 'node:crypto';
import { consumerTimedOut } from '../../core/errors.js';
import { checkExpirationHeader } from '../../core/expiration-header.js';
import type { Message } from '../../core/message.js';
import { RepeatedProperties } from '../common/repeated-properties.js';
import { DEFAULT_STOMP_LIMITS, StompCodecError, getHeader, type StompCodecErrorCode, type StompFrame, type StompHeader, type StompVersion } from './codec/index.js';
import type { ConnectedReply, DialectConnection, StompDialect, StompSubscriptionLike, SubscribeRequest } from './dialect.js';
import { parseDestination, routingOf, type Destination } from './destination.js';
import { booleanHeader, checkArgumentHeaders, ensureQueue, ensureSource, requireSource } from './endpoints.js';
import { StompError, processingError, quoted } from './errors.js';
import { negotiateHeartbeat } from './heartbeat.js';
import { propertiesFromHeaders } from './properties.js';
import { rabbitIntegerHeader } from './rabbit-header-values.js';
import { TEMP_QUEUE_PREFIX, refuseDuplicateSubscription } from './subscribe-checks.js';
import { StompSubscription, parseMessageId, type AckMode } from './subscription.js';

const VERSIONS_HEADER = '1.0,1.1,1.2';

/** RabbitMQ's STOMP plugin: destinations, acks and errors as rabbit_stomp_processor has them */
export class RabbitStompDialect implements StompDialect {
  /**
   * the previous SEND's destination, parsed, and its properties: a publisher mostly repeats
   * both, and its queued messages then share one routing key string and one properties object
   * instead of holding their own (issue 18 point 5: 1M floods)
   */
  private lastSend: { text: string; dest: Destination; exchange: string; key: string } | undefined;
  // content-length is a user header (RabbitMQ keeps it): bodies of varying size still share their properties
  private readonly repeatedProperties = new RepeatedProperties('content-length');

  /** RabbitMQ's receipt follows the channel's handling (not asked across a crash) */
  readonly ackReceiptsWhenStored = false;
  /** RabbitMQ 3.10.8 sends a BEGIN's receipt ahead of an earlier persistent SEND's (review-s15-2 F7) */
  readonly receiptsInFrameOrder = false;
  readonly answersAfterRead = true;

  /**
   * rabbit_stomp_frame takes a command line of any length (up to the frame size) and a NUL inside it as one
   * of its characters; the processor then refuses the command by name and the session goes on (3.10.8 asked,
   * /tmp/s17-fidelity/rmq-codec-cases2.txt: a 300-byte command and `SE\0ND` -> ERROR Bad command, then the
   * probe's RECEIPT). LocalMQ still bounds the line, at a header line's length, for memory
   */
  readonly codec = { limits: { maxCommandLength: DEFAULT_STOMP_LIMITS.maxHeaderLineLength }, nulInCommand: true };

  constructor(private readonly conn: DialectConnection) {}

  connected(version: StompVersion, heartbeatHeader: string | undefined): ConnectedReply {
    const heartbeat = negotiateHeartbeat(heartbeatHeader);
    const sessionId = `session-${randomBytes(16).toString('base64url')}`;
    return {
      sessionId,
      sendMs: heartbeat.sendMs,
      receiveMs: heartbeat.receiveMs,
      headers: [
        // like the AMQP server properties, `server` names the RabbitMQ release of the engine version:
        // clients (stompjms, for one) switch on RabbitMQ's extensions when they see "RabbitMQ/"
        ['server', `RabbitMQ/${this.conn.ctx.broker.engineRules.fullVersion}`],
        ['session', sessionId],
        ['heart-beat', `${heartbeat.sendMs},${heartbeat.receiveMs}`],
        ['version', version],
      ],
    };
  }

  prepareSend(frame: StompFrame, destText: string): { exchange: string; key: string; message: Message } {
    const conn = this.conn;
    let last = this.lastSend;
    if (last === undefined || last.text !== destText) {
      const dest = parseDestination(destText);
      if (dest.kind === 'temp-queue') throw new StompError('Invalid destination', `'${destText}' is not a valid destination for 'SEND'\n`);
      this.lastSend = last = { text: destText, dest, ...routingOf(dest) };
    }
    const { dest, exchange, key } = last;
    if (dest.kind === 'queue') ensureQueue(conn, dest.name, frame, conn.declaredQueues);
    else checkArgumentHeaders(frame);
    conn.check('write', 'exchange', exchange);
    conn.access!.topic(conn.vhostModel, exchange, key, 'write');
    const replyTo = conn.replyToFor(getHeader(frame, 'reply-to'));
    const properties = this.repeatedProperties.of(propertiesFromHeaders(frame.headers, replyTo));
    conn.access!.userId(properties.userId);
    // in a transaction the channel sees it at COMMIT (checkAtCommit)
    if (properties.expiration !== undefined && getHeader(frame, 'transaction') === undefined) checkExpirationHeader(conn.vhostModel, exchange, properties.expiration);
    return { exchange, key, message: { exchange, routingKey: key, properties, body: frame.body, publishedAt: Date.now() } };
  }

  /**
   * do_subscribe's order (3.10.8; 3.13 and 4.x the same): with_destination parses the destination (Unknown /
   * Invalid destination) before do_subscribe reads prefetch-count, then the ack mode, then ensures the endpoint
   * (declares it), then the consumer tag (an id naming a temp queue crashes), then refuses an id in use (ERROR,
   * closed) - so a refusal a client sees is the first of these that fails (review-s18-2 F2, 3.10.8 asked:
   * /bogus/x with prefetch-count:abc is Unknown destination; an id in use with prefetch-count:abc is Processing
   * error and the session goes on; an id in use on a new /queue/q declares it, then closes).
   */
  subscribe(req: SubscribeRequest): StompSubscriptionLike {
    const conn = this.conn;
    const { frame, destination, id, tag } = req;
    const dest = parseDestination(destination);
    // any integer is taken (3.10.8 asked, /tmp/s18-fidelity/pf-neg.mjs: -1 and -5 get a RECEIPT and then no
    // message at all with ack:client, 70000 every one); anything else crashes, nothing is declared
    const prefetch = rabbitIntegerHeader(frame, 'prefetch-count');
    const ackMode = rabbitAckMode(frame);
    const source = ensureSource(conn, dest, destination, frame, id, conn.declaredQueues);
    // `{ok, Tag, _} = consumer_tag(Frame)` fails on an id naming a temp queue: the endpoint stays declared
    // (3.10.8 asked, /tmp/s18-fidelity/pe-cases.mjs: Processing error, goes on, /queue/q exists)
    if (id !== undefined && id.startsWith(TEMP_QUEUE_PREFIX)) throw processingError();
    refuseDuplicateSubscription(conn.subscriptions, tag);
    const session = conn.ctx.broker.openSession(conn.vhostModel, conn.owner);
    if (prefetch !== undefined) session.consumerPrefetch = prefetch;
    const sub = new StompSubscription(conn, session, id, destination, ackMode, source.queue, source.owned);
    this.watchConsumerTimeout(sub);
    conn.subscriptions.set(tag, sub);
    try {
      requireSource(conn, source);
      conn.check('read', 'queue', source.queue);
      if (source.bind) {
        conn.check('write', 'queue', source.queue);
        conn.check('read', 'exchange', source.bind.exchange);
        conn.access!.topic(conn.vhostModel, source.bind.exchange, source.bind.key, 'read');
        conn.vhostModel.bindQueue(source.queue, source.bind.exchange, source.bind.key, {}, conn.owner);
      }
      session.consume(source.queue, { tag, noAck: ackMode === 'auto', exclusive: false, priority: 0, arguments: {} }, sub);
    } catch (err) {
      conn.subscriptions.delete(tag);
      sub.close();
      // a queue made for this subscription alone is ours to clean up
      if (source.owned && !source.durable) conn.vhostModel.deleteQueue(source.queue, false, false, conn.owner);
      throw err;
    }
    return sub;
  }

  /**
   * The consumer timeout: RabbitMQ's STOMP plugin consumes on an AMQP channel (its channel 1), so
   * where the version times out channels (3.13 to 4.2, rabbit_channel) the channel dies and
   * rabbit_stomp_processor:amqp_death sends ERROR `precondition_failed` with the channel's text
   * and closes; on 4.3 a quorum queue (rabbit_fifo) returns the timed-out messages and cancels
   * the consumer, which the plugin reports as "Server cancelled subscription" and carries on.
   */
  private watchConsumerTimeout(sub: StompSubscription): void {
    const conn = this.conn;
    const session = sub.session;
    if (conn.ctx.broker.engineRules.consumerTimeout === 'channel') {
      session.watchAckTimeout((ms) => conn.failed(consumerTimedOut(1, ms)));
    } else {
      session.watchAckTimeout((_ms, d) => {
        const c = d.consumer && session.timeOutConsumer(d.consumer);
        if (c) sub.cancelledByBroker(c);
      }, 'quorum-queue');
    }
  }

  resolveAck(frame: StompFrame, command: 'ACK' | 'NACK'): { sub: StompSubscriptionLike; deliveryTag: number; requeue: boolean } {
    // 1.2 acknowledges by the MESSAGE's `ack` header, sent back as `id`
    const headerName = this.conn.version === '1.2' ? 'id' : 'message-id';
    const value = getHeader(frame, headerName);
    if (value === undefined) throw new StompError('Missing header', `${quoted(command)} must include the ${quoted(headerName)} header\n`);
    const parsed = parseMessageId(value);
    if (!parsed) throw new StompError('Invalid header', `${quoted(command)} must include a valid ${quoted(headerName)} header\n`);
    const sub = this.conn.subscriptions.get(parsed.tag);
    if (!sub) throw new StompError('Subscription not found', `Message with id ${quoted(value)} has no subscription`);
    // RabbitMQ requeues a NACKed message unless told `requeue:false`
    return { sub, deliveryTag: parsed.deliveryTag, requeue: booleanHeader(frame, 'requeue') ?? true };
  }

  /** rabbit_stomp_processor send_error: no receipt-id, whatever the refused frame asked (RabbitMQ 3.10.8; 3.13/4.x source) */
  errorFrame(e: StompError): { headers: StompHeader[]; body: Buffer } {
    const headers: StompHeader[] = [['message', e.message], ['content-type', 'text/plain'], ['version', VERSIONS_HEADER], ...e.headers];
    return { headers, body: Buffer.from(e.detail, 'utf8') };
  }

  /**
   * rabbit_stomp_processor:process_request: a frame the plugin itself refuses (`error/3`: Bad command,
   * Invalid header, Missing destination, Bad transaction…) gets an ERROR and the session goes on; a
   * refusal of the broker (a protocol error: not_found, access_refused, precondition_failed…) ends it
   * (amqp_death). RabbitMQ 3.10.8 (asked, /tmp/s16-fidelity/stomp-raw.mjs): ERROR, then the
   * DISCONNECT's RECEIPT; 3.13 and 4.x have the same process_request. A refused CONNECT still closes
   * here: RabbitMQ 3.10.8 keeps that connection too, refusing frames until a CONNECT (not matched).
   */
  closesAfter(err: unknown, command: string | undefined): boolean {
    // do_subscribe answers a duplicated subscription id with send_error and `{stop, normal, …}` (3.10.8
    // asked, review-s17-2 D1: ERROR, the SUBSCRIBE's RECEIPT, closed; 3.13 and 4.x alike)
    if (err instanceof StompError && err.code === 'duplicated-subscription') return true;
    // a refused CONNECT goes on too: process_connect answers with error/3 and the session stays
    // unauthenticated, refusing other frames ("Illegal command") until a CONNECT succeeds (3.10.8 asked:
    // Bad CONNECT, then SEND -> Illegal command, then a good CONNECT -> CONNECTED; 3.13 and 4.x the same)
    return !(err instanceof StompError) || command === undefined;
  }

  /**
   * rabbit_stomp_reader stops without a word when its parser fails (`{error, Reason}`: logged, `{stop,
   * normal, …}`; 3.10.8 to 4.x), and process_connect only matches a session not yet logged in, so a
   * second CONNECT crashes the session: closed, no frame. 3.10.8 asked (/tmp/s17-fidelity/codec-cases.txt,
   * rmq-codec-cases2.txt): a header line without a colon, `\t` / `\q` escapes in 1.2, content-length:abc,
   * no NUL after a content-length body, a CR not followed by LF, a second CONNECT. (A body over the
   * broker's message size keeps its ERROR: RabbitMQ refuses that one in the channel, precondition_failed.)
   */
  closesSilently(err: unknown, command: string | undefined): boolean {
    // (LocalMQ's own limits, which RabbitMQ does not have - header count and line length, command length -
    // and a body over the message size keep their ERROR: it says why; review-s17-2 L3)
    if (err instanceof StompCodecError) return RABBIT_PARSE_FAILURES.has(err.code);
    return err instanceof StompError && err.code === 'bad-command' && (command === 'CONNECT' || command === 'STOMP');
  }

  /**
   * process_request runs a frame's SuccessFun (its receipt) also when the frame ends the session
   * (`{stop, normal, …}`: a broker refusal, a duplicated subscription id): ERROR, then RECEIPT, then
   * closed (3.10.8 asked: SUBSCRIBE id:s1 twice, receipt:x1 on the second). A SEND's receipt is a
   * publisher confirm that never comes; a refused CONNECT has none.
   */
  receiptAfterClosingError(command: string): boolean {
    // (a COMMIT refused at a publish has answered already: onCommit)
    return command !== 'SEND' && command !== 'COMMIT' && command !== 'CONNECT' && command !== 'STOMP';
  }

  /**
   * rabbit_stomp_processor keeps a transaction's SENDs and publishes them at COMMIT: the channel checks a
   * bad expiration then (3.10.8 asked, /tmp/s17-fidelity/tx-partial.mjs: BEGIN, SEND g1, SEND expiration:-1,
   * SEND g3, COMMIT c1 -> RECEIPT c1, ERROR precondition_failed, closed; g1 published, g3 not; review-s16-2 E3)
   */
  checkAtCommit(exchange: string, message: Message): void {
    const expiration = message.properties.expiration;
    if (expiration !== undefined) checkExpirationHeader(this.conn.vhostModel, exchange, expiration);
  }

  closed(): void {}
}

/** the frames rabbit_stomp_frame cannot parse (3.10.8 asked: closed without a frame), by LocalMQ's codec error */
const RABBIT_PARSE_FAILURES: ReadonlySet<StompCodecErrorCode> = new Set(['malformed-header', 'invalid-escape', 'invalid-content-length', 'missing-nul', 'malformed-eol']);

/**
 * rabbit_stomp_util:ack_mode matches `auto`, `client` and `client-individual` only (3.10.8 to 4.x): any other
 * value, `Client` too, crashes do_subscribe before the endpoint is declared (3.10.8 asked: Processing error,
 * goes on, the queue not declared)
 */
function rabbitAckMode(frame: StompFrame): AckMode {
  const value = getHeader(frame, 'ack');
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'client' || value === 'client-individual') return value;
  throw processingError();
}
