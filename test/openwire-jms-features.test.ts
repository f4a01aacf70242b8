import { describe, expect, it } from 'vitest';
import { jmsScenarioRun, jmsUnavailable } from './helpers/jms.js';

/**
 * ActiveMQ features with the real ActiveMQ JMS client (test/java/JmsFeatures.java, one
 * JVM for every scenario). Each scenario passes against Debian's ActiveMQ 5.17 as well
 * (bench/activemq-observed.md, "OpenWire features"); the Java comments name the ActiveMQ
 * source each one pins.
 */
const unavailable = jmsUnavailable();
const SCENARIOS = ['producerWindow', 'consumerAdvisory', 'producerAdvisory'];

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
});
