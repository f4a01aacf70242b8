import type { ActiveMqDlqStrategy } from '../../core/dead-letter.js';
import { amqNameMatches } from '../../core/activemq-names.js';
import { badRequest } from './errors.js';

/**
 * Amazon MQ's check of an ActiveMQ configuration revision: the XML must be well formed with
 * a `<broker>` root; elements outside the set Amazon MQ allows are removed and reported as
 * `DISALLOWED_ELEMENT_REMOVED` warnings (UpdateConfiguration's `warnings`), as the service
 * sanitizes them.
 */
export interface SanitizationWarning {
  reason: 'DISALLOWED_ELEMENT_REMOVED' | 'DISALLOWED_ATTRIBUTE_REMOVED' | 'INVALID_ATTRIBUTE_VALUE_REMOVED';
  elementName?: string;
  attributeName?: string;
}

/** Elements of Amazon MQ's ActiveMQ configuration schema (the broker's child elements and their descendants). */
const ALLOWED = new Set(
  [
    'broker', 'authorizationPlugin', 'map', 'authorizationMap', 'authorizationEntries', 'authorizationEntry', 'tempDestinationAuthorizationEntry',
    'destinationInterceptors', 'virtualDestinationInterceptor', 'virtualDestinations', 'virtualTopic', 'compositeQueue', 'compositeTopic',
    'forwardTo', 'queue', 'topic', 'filteredDestination', 'mirroredQueue',
    'destinationPolicy', 'policyMap', 'policyEntries', 'policyEntry', 'defaultEntry', 'deadLetterStrategy', 'individualDeadLetterStrategy',
    'sharedDeadLetterStrategy', 'deadLetterQueue', 'discarding', 'pendingMessageLimitStrategy', 'constantPendingMessageLimitStrategy', 'prefetchRatePendingMessageLimitStrategy',
    'dispatchPolicy', 'roundRobinDispatchPolicy', 'strictOrderDispatchPolicy', 'priorityDispatchPolicy', 'simpleDispatchPolicy',
    'messageGroupMapFactory', 'cachedMessageGroupMapFactory', 'messageGroupHashBucketFactory', 'simpleMessageGroupMapFactory',
    'slowConsumerStrategy', 'abortSlowConsumerStrategy', 'abortSlowAckConsumerStrategy', 'subscriptionRecoveryPolicy',
    'fixedCountSubscriptionRecoveryPolicy', 'fixedSizedSubscriptionRecoveryPolicy', 'lastImageSubscriptionRecoveryPolicy',
    'noSubscriptionRecoveryPolicy', 'queryBasedSubscriptionRecoveryPolicy', 'retainedMessageSubscriptionRecoveryPolicy',
    'timedSubscriptionRecoveryPolicy', 'destinations', 'networkConnectors', 'networkConnector', 'excludedDestinations',
    'dynamicallyIncludedDestinations', 'staticallyIncludedDestinations', 'durableDestinations', 'persistenceAdapter', 'kahaDB',
    'plugins', 'forcePersistencyModeBrokerPlugin', 'redeliveryPlugin', 'redeliveryPolicyMap', 'redeliveryPolicyEntries',
    'redeliveryPolicy', 'defaultEntry', 'statisticsBrokerPlugin', 'timeStampingBrokerPlugin', 'discardingDLQBrokerPlugin',
    'systemUsage', 'memoryUsage', 'storeUsage', 'tempUsage', 'jobSchedulerUsage',
  ],
);

interface Element {
  name: string;
  start: number;
  end: number;
  attrs: Record<string, string>;
  children: Element[];
}

export function checkActiveMqXml(text: string): { sanitized: string; warnings: SanitizationWarning[] } {
  const root = parse(text);
  if (localName(root.name) !== 'broker') throw badRequest('data', `The configuration's root element must be <broker>, not <${root.name}>.`);
  const warnings: SanitizationWarning[] = [];
  const cuts: [number, number][] = [];
  const walk = (e: Element) => {
    for (const child of e.children) {
      const name = localName(child.name);
      if (!ALLOWED.has(name)) {
        warnings.push({ reason: 'DISALLOWED_ELEMENT_REMOVED', elementName: name });
        cuts.push([child.start, child.end]);
      } else walk(child);
    }
  };
  walk(root);
  let sanitized = text;
  for (const [s, e] of cuts.sort((a, b) => b[0] - a[0])) sanitized = sanitized.slice(0, s) + sanitized.slice(e);
  return { sanitized, warnings };
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}

const NAME = /^[A-Za-z_][\w.:-]*/;

/** A strict, small XML reader: elements, attributes, text, comments, CDATA, PIs; no DTD. */
function parse(text: string): Element {
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw badRequest('data', `The configuration is not well-formed XML: ${what} (line ${line}).`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (text.startsWith('<!DOCTYPE', i)) fail('a DOCTYPE is not allowed');
      else return;
    }
  };
  const element = (): Element => {
    const start = i;
    i++; // <
    const m = NAME.exec(text.slice(i));
    if (!m) fail('an element name was expected');
    const name = m![0];
    i += name.length;
    const seen = new Set<string>();
    const attrs: Record<string, string> = {};
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith('/>', i)) {
        i += 2;
        return { name, start, end: i, attrs, children: [] };
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      const a = NAME.exec(text.slice(i));
      if (!a) fail(`a bad attribute in <${name}>`);
      if (seen.has(a![0])) fail(`attribute ${a![0]} repeated in <${name}>`);
      seen.add(a![0]);
      i += a![0].length;
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] !== '=') fail(`attribute ${a![0]} of <${name}> has no value`);
      i++;
      while (/\s/.test(text[i] ?? '')) i++;
      const q = text[i];
      if (q !== '"' && q !== "'") fail(`attribute ${a![0]} of <${name}> is not quoted`);
      const close = text.indexOf(q!, i + 1);
      if (close < 0) fail(`attribute ${a![0]} of <${name}> is not closed`);
      if (text.slice(i + 1, close).includes('<')) fail(`'<' inside attribute ${a![0]} of <${name}>`);
      attrs[localName(a![0])] = unescapeXml(text.slice(i + 1, close));
      i = close + 1;
    }
    const children: Element[] = [];
    for (;;) {
      if (i >= text.length) fail(`<${name}> is not closed`);
      if (text.startsWith('</', i)) {
        const end = text.indexOf('>', i);
        if (end < 0) fail(`</${name}> is not closed`);
        const closing = text.slice(i + 2, end).trim();
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        i = end + 1;
        return { name, start, end: i, attrs, children };
      }
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (text.startsWith('<![CDATA[', i)) {
        const end = text.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA section');
        i = end + 3;
      } else if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else if (text[i] === '<') children.push(element());
      else {
        const next = text.indexOf('<', i);
        i = next < 0 ? text.length : next;
      }
    }
  };
  skipMisc();
  if (text[i] !== '<') fail('no root element');
  const root = element();
  skipMisc();
  if (i < text.length) fail('content after the root element');
  return root;
}

function unescapeXml(v: string): string {
  return v.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** one `<policyEntry>` of `<destinationPolicy>`: the destinations it covers and what LocalMQ applies of it */
export interface ActiveMqPolicyEntry {
  kind: 'queue' | 'topic';
  /** ActiveMQ wildcards: `*` one level, `>` the rest */
  pattern: string;
  deadLetter?: ActiveMqDlqStrategy;
  /** `prioritizedMessages`: the queues deliver by JMSPriority (9 first), then in order */
  prioritizedMessages?: boolean;
  /** attributes and child elements kept in the revision that LocalMQ does not act on */
  notApplied: string[];
}

/**
 * The destination policies of an ActiveMQ configuration that LocalMQ applies at (re)boot:
 * each policyEntry's deadLetterStrategy (sharedDeadLetterStrategy with its deadLetterQueue,
 * individualDeadLetterStrategy with its prefixes and suffixes, discarding; processNonPersistent)
 * and a queue entry's prioritizedMessages.
 * Everything else an entry says is listed in `notApplied` (and logged).
 */
export function activeMqPolicies(text: string): ActiveMqPolicyEntry[] {
  const root = parse(text);
  const out: ActiveMqPolicyEntry[] = [];
  const find = (e: Element, name: string): Element[] => e.children.filter((c) => localName(c.name) === name);
  for (const dp of find(root, 'destinationPolicy')) {
    for (const pm of find(dp, 'policyMap')) {
      const entries = [...find(pm, 'policyEntries').flatMap((x) => find(x, 'policyEntry')), ...find(pm, 'defaultEntry').flatMap((x) => find(x, 'policyEntry'))];
      for (const entry of entries) {
        const kind = entry.attrs['queue'] !== undefined ? 'queue' : entry.attrs['topic'] !== undefined ? 'topic' : undefined;
        if (!kind) continue;
        const applied = new Set(['queue', 'topic', 'prioritizedMessages']);
        const notApplied = Object.keys(entry.attrs).filter((a) => !applied.has(a)).map((a) => `policyEntry@${a}`);
        const prioritized = entry.attrs['prioritizedMessages'];
        let deadLetter: ActiveMqDlqStrategy | undefined;
        for (const child of entry.children) {
          const childName = localName(child.name);
          if (childName !== 'deadLetterStrategy') {
            notApplied.push(childName);
            continue;
          }
          for (const s of child.children) {
            const sName = localName(s.name);
            const nonPersistent = s.attrs['processNonPersistent'] === 'true';
            const expired = s.attrs['processExpired'] === undefined ? {} : { processExpired: s.attrs['processExpired'] !== 'false' };
            if (sName === 'sharedDeadLetterStrategy') {
              const q = find(s, 'deadLetterQueue').flatMap((d) => find(d, 'queue'))[0]?.attrs['physicalName'];
              deadLetter = { kind: 'shared', queue: q ?? 'ActiveMQ.DLQ', processNonPersistent: nonPersistent, ...expired };
            } else if (sName === 'individualDeadLetterStrategy') {
              deadLetter = {
                kind: 'individual',
                queuePrefix: s.attrs['queuePrefix'] ?? 'ActiveMQ.DLQ.Queue.',
                topicPrefix: s.attrs['topicPrefix'] ?? 'ActiveMQ.DLQ.Topic.',
                queueSuffix: s.attrs['queueSuffix'] ?? '',
                topicSuffix: s.attrs['topicSuffix'] ?? '',
                processNonPersistent: nonPersistent,
                ...expired,
              };
              for (const a of ['useQueueForQueueMessages', 'useQueueForTopicMessages']) if (s.attrs[a] === 'false') notApplied.push(`individualDeadLetterStrategy@${a}=false (LocalMQ's DLQs are queues)`);
            } else if (sName === 'discarding') deadLetter = { kind: 'discarding' };
            else notApplied.push(sName);
            for (const a of ['expiration', 'enableAudit', 'maxProducersToAudit', 'maxAuditDepth']) if (s.attrs[a] !== undefined) notApplied.push(`${sName}@${a}`);
          }
        }
        if (prioritized !== undefined && kind === 'topic') notApplied.push('policyEntry@prioritizedMessages on a topic');
        out.push({
          kind,
          pattern: entry.attrs[kind]!,
          ...(deadLetter ? { deadLetter } : {}),
          ...(prioritized !== undefined && kind === 'queue' ? { prioritizedMessages: prioritized === 'true' } : {}),
          notApplied,
        });
      }
    }
  }
  return out;
}

/** among the entries whose pattern matches, the most specific first: fewest wildcards, then the longest pattern (ActiveMQ's PolicyMap prefers the closest match) */
function bySpecificity(entries: ActiveMqPolicyEntry[]): ActiveMqPolicyEntry[] {
  const wildcards = (p: string) => p.split('.').filter((l) => l === '*' || l === '>').length;
  return [...entries].sort((a, b) => wildcards(a.pattern) - wildcards(b.pattern) || b.pattern.length - a.pattern.length);
}

/** The dead-letter strategy of a destination under these entries: the most specific matching entry's. */
export function deadLetterResolver(entries: ActiveMqPolicyEntry[]): ((kind: 'queue' | 'topic', name: string) => ActiveMqDlqStrategy | undefined) | undefined {
  const ranked = bySpecificity(entries.filter((e) => e.deadLetter));
  if (ranked.length === 0) return undefined;
  return (kind, name) => ranked.find((e) => e.kind === kind && amqNameMatches(e.pattern, name))?.deadLetter;
}

/** Whether a queue delivers by priority: the most specific matching queue entry that says so either way. */
export function prioritizedResolver(entries: ActiveMqPolicyEntry[]): ((queue: string) => boolean) | undefined {
  const ranked = bySpecificity(entries.filter((e) => e.prioritizedMessages !== undefined));
  if (ranked.length === 0) return undefined;
  return (queue) => ranked.find((e) => amqNameMatches(e.pattern, queue))?.prioritizedMessages === true;
}
