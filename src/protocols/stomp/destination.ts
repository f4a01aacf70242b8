import { StompError } from './errors.js';

/**
 * A STOMP destination as RabbitMQ's STOMP plugin reads it
 * (rabbit_routing_util:parse_endpoint): `/queue/q`, `/topic/key`,
 * `/exchange/x[/key]`, `/amq/queue/q`, `/temp-queue/t`, `/reply-queue/q`, and a
 * bare name without any slash, which is a queue (ActiveMQ's habit).
 * `%2F` in a name stands for `/`.
 */
export type Destination =
  | { kind: 'queue'; name: string }
  | { kind: 'topic'; name: string }
  | { kind: 'exchange'; exchange: string; key: string | undefined }
  | { kind: 'amqqueue'; name: string }
  | { kind: 'temp-queue'; name: string }
  | { kind: 'reply-queue'; name: string };

/** the prefixes that mark a reply-to as already a destination (anything else gets /reply-queue/) */
const DEST_PREFIXES = ['/exchange', '/topic', '/queue', '/amq/queue', '/reply-queue'];
/**
 * as rabbit_routing_parser's all_dest_prefixes lists them: ?REPLY_QUEUE_PREFIX is "/reply-queue/" (RabbitMQ
 * 3.10.8 asked: `... /amq/queue, /reply-queue/.`; 3.13 and 4.x the same)
 */
const ALL_PREFIXES = ['/temp-queue', '/exchange', '/topic', '/queue', '/amq/queue', '/reply-queue/'];

export function parseDestination(text: string): Destination {
  const parts = text.split('/');
  if (parts.length === 1) return { kind: 'queue', name: unescapeName(text) };
  const [lead, type] = parts;
  if (lead !== '') throw unknownDestination(text);
  if (type === 'queue' || type === 'topic' || type === 'temp-queue' || type === 'exchange') {
    return typed(type, parts.slice(2));
  }
  if (type === 'amq' && parts[2] === 'queue') return typed('amqqueue', parts.slice(3));
  if (type === 'reply-queue' && parts.length > 2) {
    // everything after the prefix, slashes and all: it names a server-generated queue
    return { kind: 'reply-queue', name: text.slice('/reply-queue/'.length) };
  }
  throw unknownDestination(text);
}

function typed(type: 'queue' | 'topic' | 'temp-queue' | 'exchange' | 'amqqueue', rest: string[]): Destination {
  if (type === 'exchange') {
    if (rest.length === 0 || rest[0] === '' || rest.length > 2) throw invalidDestination(type, rest);
    return { kind: 'exchange', exchange: unescapeName(rest[0]!), key: rest.length === 2 ? unescapeName(rest[1]!) : undefined };
  }
  if (rest.length !== 1 || rest[0] === '') throw invalidDestination(type, rest);
  return { kind: type, name: unescapeName(rest[0]!) };
}

function unescapeName(s: string): string {
  return s.includes('%2F') ? s.split('%2F').join('/') : s;
}

function invalidDestination(type: string, rest: string[]): StompError {
  const content = rest.length === 0 ? '' : `/${rest.join('/')}`;
  return new StompError('Invalid destination', `'${content}' is not a valid ${type.replace('-', '_')} destination\n`);
}

function unknownDestination(text: string): StompError {
  return new StompError(
    'Unknown destination',
    `'${text}' is not a valid destination.\nValid destination types are: ${ALL_PREFIXES.join(', ')}.\n`,
  );
}

/** exchange and routing key a SEND to this destination publishes with */
export function routingOf(d: Destination): { exchange: string; key: string } {
  switch (d.kind) {
    case 'exchange':
      return { exchange: d.exchange, key: d.key ?? '' };
    case 'topic':
      return { exchange: 'amq.topic', key: d.name };
    default:
      return { exchange: '', key: d.name };
  }
}

/**
 * The `destination` header of a MESSAGE, from where the message was published
 * (rabbit_stomp_util:format_destination): the default exchange reads back as
 * /queue/key, amq.topic as /topic/key, anything else as /exchange/x[/key].
 */
export function formatDestination(exchange: string, key: string): string {
  if (exchange === '') return `/queue/${escapeName(key)}`;
  if (exchange === 'amq.topic') return `/topic/${escapeName(key)}`;
  if (key === '') return `/exchange/${escapeName(exchange)}`;
  return `/exchange/${escapeName(exchange)}/${escapeName(key)}`;
}

/** '/' and '%' percent-encoded, as are control and non-ASCII code units (RabbitMQ's escape/1) */
function escapeName(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2f || c === 0x25 || c < 32 || c > 127) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  // byte-wise over the UTF-8 form, as RabbitMQ escapes the binary
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x2f || b === 0x25 || b < 32 || b > 127) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** a reply-to read back by a STOMP client: a bare queue name becomes /reply-queue/name */
export function replyToHeader(replyTo: string): string {
  for (const p of DEST_PREFIXES) if (replyTo.startsWith(p)) return replyTo;
  return `/reply-queue/${replyTo}`;
}
