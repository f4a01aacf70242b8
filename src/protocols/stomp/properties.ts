import type { FieldTable } from '../../core/fields.js';
import type { MessageProperties } from '../../core/message.js';
import type { StompHeader } from './codec/index.js';
import { replyToHeader } from './destination.js';
import { rabbitBoolean, rabbitInteger } from './rabbit-header-values.js';

/**
 * STOMP headers ⇄ AMQP basic properties, as RabbitMQ's STOMP plugin maps them
 * (rabbit_stomp_util:message_properties / message_headers): the property
 * headers fill the matching properties, `persistent:true` is delivery mode 2,
 * and every other header travels in the AMQP headers table as a string.
 * `amqp-message-id` carries the AMQP message-id, because STOMP's own
 * `message-id` is the server's acknowledgement handle.
 */

/** headers that are properties, routing or framing, never copied into the AMQP headers table */
const NOT_USER_HEADERS = new Set([
  'content-type',
  'content-encoding',
  'persistent',
  'priority',
  'correlation-id',
  'reply-to',
  'expiration',
  'amqp-message-id',
  'timestamp',
  'type',
  'user-id',
  'app-id',
  'destination',
  // `receipt`, `transaction` and `content-length` are user headers: rabbit_stomp_util:user_header keeps every
  // header but the properties and destination, 3.10.8 to 4.x (3.10.8 asked, /tmp/s18-fidelity/pe-cases3.mjs,
  // /tmp/s19-fidelity/hdr-order.mjs: an AMQP basic.get shows all three; a STOMP MESSAGE shows receipt and
  // transaction, and only its own content-length, see appendPropertyHeaders)
]);

/**
 * properties of a message sent with these headers (first occurrence of a name wins). A priority or
 * timestamp that is no integer crashes RabbitMQ's message_properties (Processing error, nothing
 * routed; the queue of a SEND to /queue/q is declared already: 3.10.8 asked, the same code in 4.x)
 */
export function propertiesFromHeaders(headers: StompHeader[], replyTo: string | undefined): MessageProperties {
  const props: MessageProperties = {};
  // each name's first occurrence (the one that counts)
  const first = new Map<string, number>();
  let userHeaders = 0;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (first.has(name)) continue;
    first.set(name, i);
    switch (name) {
      case 'content-type':
        props.contentType = value;
        break;
      case 'content-encoding':
        props.contentEncoding = value;
        break;
      case 'persistent':
        // boolean_header: `True` too (3.10.8 asked: delivered with persistent:true); anything else is not
        if (rabbitBoolean(value) === true) props.deliveryMode = 2;
        break;
      case 'priority':
        props.priority = rabbitInteger(value);
        break;
      case 'correlation-id':
        props.correlationId = value;
        break;
      case 'reply-to':
        props.replyTo = replyTo ?? value;
        break;
      case 'expiration':
        props.expiration = value;
        break;
      case 'amqp-message-id':
        props.messageId = value;
        break;
      case 'timestamp':
        props.timestamp = rabbitInteger(value);
        break;
      case 'type':
        props.type = value;
        break;
      case 'user-id':
        props.userId = value;
        break;
      case 'app-id':
        props.appId = value;
        break;
      default:
        if (!NOT_USER_HEADERS.has(name)) userHeaders++;
    }
  }
  for (const k of Object.keys(props) as (keyof MessageProperties)[]) if (props[k] === undefined) delete props[k];
  if (userHeaders > 0) props.headers = userHeaderTable(headers, first);
  return props;
}

/**
 * The user headers in REVERSE frame order: rabbit_stomp_frame's parser prepends each new name (insert_header,
 * the first occurrence wins; 3.x-era and the newest parser alike), and the headers table is built from that
 * list. RabbitMQ 3.10.8 asked (/tmp/s19-fidelity/hdr-order.mjs; review-s18-2 P2): SEND h1, receipt, h2,
 * content-length, h3 -> basic.get headers h3, content-length, h2, receipt, h1; a STOMP MESSAGE h3 h2 receipt h1.
 */
function userHeaderTable(headers: StompHeader[], first: Map<string, number>): FieldTable {
  const table: FieldTable = {};
  for (let i = headers.length - 1; i >= 0; i--) {
    const [name, value] = headers[i];
    if (first.get(name) === i && !NOT_USER_HEADERS.has(name)) table[name] = value;
  }
  return table;
}

/**
 * Appends the MESSAGE headers for these properties, in RabbitMQ's order: the
 * AMQP headers table first (string and integer values only, as RabbitMQ
 * converts them), then the properties from app-id back to content-type.
 * A `content-length` in the table is not written: rabbit_stomp_frame:serialize drops it and writes the
 * body's own at the end (3.10.8 asked, /tmp/s19-fidelity/hdr-order.mjs: one content-length, last).
 */
export function appendPropertyHeaders(out: StompHeader[], p: MessageProperties): void {
  const table = p.headers;
  if (table) {
    for (const key in table) {
      if (key === 'content-length') continue;
      const v = table[key];
      if (typeof v === 'string') out.push([key, v]);
      else if (typeof v === 'number' && Number.isInteger(v)) out.push([key, String(v)]);
      else if (typeof v === 'bigint') out.push([key, v.toString()]);
      else if (Buffer.isBuffer(v)) out.push([key, v.toString('utf8')]);
    }
  }
  if (p.appId !== undefined) out.push(['app-id', p.appId]);
  if (p.userId !== undefined) out.push(['user-id', p.userId]);
  if (p.type !== undefined) out.push(['type', p.type]);
  if (p.timestamp !== undefined) out.push(['timestamp', String(p.timestamp)]);
  if (p.messageId !== undefined) out.push(['amqp-message-id', p.messageId]);
  if (p.expiration !== undefined) out.push(['expiration', p.expiration]);
  if (p.replyTo !== undefined) out.push(['reply-to', replyToHeader(p.replyTo)]);
  if (p.correlationId !== undefined) out.push(['correlation-id', p.correlationId]);
  if (p.priority !== undefined) out.push(['priority', String(p.priority)]);
  if (p.deliveryMode !== undefined) out.push(['persistent', p.deliveryMode === 2 ? 'true' : String(p.deliveryMode)]);
  if (p.contentEncoding !== undefined) out.push(['content-encoding', p.contentEncoding]);
  if (p.contentType !== undefined) out.push(['content-type', p.contentType]);
}
