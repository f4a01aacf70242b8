/**
 * MQTT topics and the AMQP routing keys they travel under, mapped as RabbitMQ's MQTT
 * plugin maps them: levels are separated by `/` in MQTT and `.` in AMQP, so the two
 * characters swap places (`a/b.c` ⇄ `a.b/c`); the wildcards `+` ⇄ `*` and `#` ⇄ `#`.
 */

const SLASH = 47;
const DOT = 46;
const PLUS = 43;
const STAR = 42;

/** the last topic converted, and its routing key: a publisher usually repeats its topic */
let lastTopicIn = '';
let lastKeyOut = '';

/** MQTT topic `a/b.c` → routing key `a.b/c` (also used for filters, with `+` → `*`) */
export function topicToRoutingKey(topic: string): string {
  if (topic === lastTopicIn) return lastKeyOut;
  const key = convertTopic(topic);
  lastTopicIn = topic;
  lastKeyOut = key;
  return key;
}

function convertTopic(topic: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH || c === DOT || c === PLUS) {
      out += topic.slice(from, i) + (c === SLASH ? '.' : c === DOT ? '/' : '*');
      from = i + 1;
    }
  }
  return from === 0 ? topic : out + topic.slice(from);
}

/** subscription filter `a/+/#` → binding key `a.*.#` */
export const filterToBindingKey = topicToRoutingKey;

/** the last key converted, and its topic: a fanout converts one key for every subscriber */
let lastKey = '';
let lastTopic = '';

/** routing key `a.b/c` → MQTT topic `a/b.c` */
export function routingKeyToTopic(key: string): string {
  if (key === lastKey) return lastTopic;
  const topic = convertKey(key);
  lastKey = key;
  lastTopic = topic;
  return topic;
}

function convertKey(key: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === SLASH || c === DOT || c === STAR) {
      out += key.slice(from, i) + (c === DOT ? '/' : c === SLASH ? '.' : '+');
      from = i + 1;
    }
  }
  return from === 0 ? key : out + key.slice(from);
}

/**
 * Does an MQTT filter match a topic? `+` is one level, `#` the rest (zero or more levels,
 * so `a/#` matches `a`), and a topic starting with `$` is not matched by a filter starting
 * with a wildcard [MQTT-4.7.2-1].
 */
export function filterMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === 35 /* # */) return false;
  }
  if (filter === topic) return true;
  let fi = 0;
  let ti = 0;
  for (;;) {
    const fEnd = indexOrEnd(filter, fi);
    const fLevel = filter.slice(fi, fEnd);
    if (fLevel === '#') return true;
    if (ti > topic.length) return false;
    const tEnd = indexOrEnd(topic, ti);
    if (fLevel !== '+' && fLevel !== topic.slice(ti, tEnd)) return false;
    const fDone = fEnd === filter.length;
    const tDone = tEnd === topic.length;
    if (fDone || tDone) {
      if (fDone && tDone) return true;
      // `a/#` also matches `a`
      return tDone && !fDone && filter.slice(fEnd + 1) === '#';
    }
    fi = fEnd + 1;
    ti = tEnd + 1;
  }
}

function indexOrEnd(s: string, from: number): number {
  const i = s.indexOf('/', from);
  return i < 0 ? s.length : i;
}

export function isWildcardFilter(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}
