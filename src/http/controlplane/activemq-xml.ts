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
    'sharedDeadLetterStrategy', 'discarding', 'pendingMessageLimitStrategy', 'constantPendingMessageLimitStrategy', 'prefetchRatePendingMessageLimitStrategy',
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
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith('/>', i)) {
        i += 2;
        return { name, start, end: i, children: [] };
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
        return { name, start, end: i, children };
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
