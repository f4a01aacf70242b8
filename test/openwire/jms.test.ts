import { describe, expect, it } from 'vitest';
import { jmsScenarioRun, jmsUnavailable } from '../helpers/jms.js';

/**
 * OpenWire with the real ActiveMQ JMS client (Debian's libactivemq-java 5.17): one JVM
 * runs every scenario of test/java/JmsScenarios.java against one broker; each test
 * below asserts its scenario's outcome.
 */
const unavailable = jmsUnavailable();
const SCENARIOS = ['example', 'consume', 'types', 'requestReply', 'selector', 'browse', 'transacted', 'clientAck', 'dlq', 'durable', 'pull', 'wrongPassword', 'topic', 'badSelector'];

describe.skipIf(unavailable !== undefined)(`ActiveMQ JMS client over OpenWire${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const outcome = jmsScenarioRun(SCENARIOS);

  it('runs the program from issue 12 unchanged (a persistent TextMessage to test.queue)', () => {
    expect(outcome('example')).toBe('OK');
  });
  it('a consumer receives it: TextMessage, persistent, an ActiveMQ message id, not redelivered', () => {
    expect(outcome('consume')).toBe('OK');
  });
  it('Text, Bytes, Map, Stream and Object messages round-trip with typed properties and JMS headers', () => {
    expect(outcome('types')).toBe('OK');
  });
  it('request/reply over a temporary queue, the reply picked by a JMSCorrelationID selector', () => {
    expect(outcome('requestReply')).toBe('OK');
  });
  it('a queue consumer with a selector takes only what it selects; the rest stays for others', () => {
    expect(outcome('selector')).toBe('OK');
  });
  it('a QueueBrowser over 20 000 (more than one slice of the broker\'s browse) sees every message in order, with a selector those it takes, and consumes none', () => {
    expect(outcome('browse')).toBe('OK');
  });
  it('a transacted session: commit delivers, rollback redelivers with JMSRedelivered and JMSXDeliveryCount 2', () => {
    expect(outcome('transacted')).toBe('OK');
  });
  it('CLIENT_ACKNOWLEDGE: recover redelivers, acknowledge removes', () => {
    expect(outcome('clientAck')).toBe('OK');
  });
  it('the default redelivery policy: 1 delivery + 6 redeliveries, then ActiveMQ.DLQ with dlqDeliveryFailureCause', () => {
    expect(outcome('dlq')).toBe('OK');
  });
  it('a durable topic subscriber misses nothing while disconnected; unsubscribe removes it', () => {
    expect(outcome('durable')).toBe('OK');
  });
  it('prefetch 0 consumers pull: receiveNoWait and receive(timeout) get null, each receive one message', () => {
    expect(outcome('pull')).toBe('OK');
  });
  it('a wrong password is a JMSSecurityException', () => {
    expect(outcome('wrongPassword')).toBe('OK');
  });
  it('a topic fans out to every subscriber', () => {
    expect(outcome('topic')).toBe('OK');
  });
  it('a bad selector is an InvalidSelectorException', () => {
    expect(outcome('badSelector')).toBe('OK');
  });
});
