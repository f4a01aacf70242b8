import { describe, expect, it } from 'vitest';
import { jmsScenarioRun, jmsUnavailable } from '../helpers/jms.js';

/**
 * ActiveMQ features with the real ActiveMQ JMS client (JmsFeatures in test/java/JmsScenarios.java, one
 * JVM for every scenario). Each scenario passes against Debian's ActiveMQ 5.17 as well
 * (bench/activemq-observed.md, "OpenWire features"); the Java comments name the ActiveMQ
 * source each one pins.
 */
const unavailable = jmsUnavailable();
const SCENARIOS = ['producerWindow', 'consumerAdvisory', 'producerAdvisory', 'messageGroups', 'wildcardQueue', 'priorityFifo', 'expiry', 'expiredInPrefetch'];

describe.skipIf(unavailable !== undefined)(`ActiveMQ features over OpenWire${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const outcome = jmsScenarioRun(SCENARIOS);

  it('producer flow control: async sends through a producer window are given back by ProducerAcks (Queue.send)', () => {
    expect(outcome('producerWindow')).toBe('OK');
  });
  it('consumer advisories: ConsumerInfo / RemoveInfo with consumerCount on ActiveMQ.Advisory.Consumer.Queue.<name>, replayed to a new subscriber', () => {
    expect(outcome('consumerAdvisory')).toBe('OK');
  });
  it('producer advisories: ProducerInfo / RemoveInfo with producerCount on ActiveMQ.Advisory.Producer.Topic.<name>, wildcard subscribers too', () => {
    expect(outcome('producerAdvisory')).toBe('OK');
  });
  it('message groups: a JMSXGroupID sticks to one consumer (JMSXGroupFirstForConsumer on its first), moves when the owner closes, JMSXGroupSeq -1 closes it', () => {
    expect(outcome('messageGroups')).toBe('OK');
  });
  it('wildcard queue consumers: `p.>` and `p.*` read every matching queue, those declared later too, each message naming its queue', () => {
    expect(outcome('wildcardQueue')).toBe('OK');
  });
  it('without prioritizedMessages (ActiveMQ and Amazon MQ\'s default) a queue delivers in send order whatever JMSPriority', () => {
    expect(outcome('priorityFifo')).toBe('OK');
  });
  it('broker-side expiry: an expired persistent message goes to ActiveMQ.DLQ with dlqDeliveryFailureCause "Message Expired…", a non-persistent one is dropped', () => {
    expect(outcome('expiry')).toBe('OK');
  });
  it('a message that expires in a consumer\'s prefetch: the client acks it expired and it is on ActiveMQ.DLQ once, JMSExpiration 0, originalExpiration and the cause as ActiveMQ 5.17 (the old code kept its expiration: the DLQ consumer\'s client acked it expired again, round and round)', () => {
    expect(outcome('expiredInPrefetch')).toBe('OK');
  });
});

describe.skipIf(unavailable !== undefined)(`ActiveMQ prioritizedMessages over OpenWire${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const outcome = jmsScenarioRun(['priority'], { openwire: { prioritizedMessages: true } });

  it('with prioritizedMessages a queue delivers JMSPriority 9..0, in send order within a priority (as ActiveMQ 5.17 with the policy)', () => {
    expect(outcome('priority')).toBe('OK');
  });
});
