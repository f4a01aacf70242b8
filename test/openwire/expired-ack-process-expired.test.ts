import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { jmsUnavailable, runJms, type JmsRun } from '../helpers/jms.js';

/**
 * processExpired="false" (sharedDeadLetterStrategy) drops expired messages instead of
 * dead-lettering them: ActiveMQ 5.17 with that policy on every queue (review-s15-2 Q3, the repo's
 * JmsScenarios against it): `expiry` FAIL "the persistent one on ActiveMQ.DLQ: null" and
 * `expiredInPrefetch` FAIL "p1 on ActiveMQ.DLQ: null": neither one expired in its queue nor one its
 * JMS client acked as expired reaches the DLQ. The old code dead-lettered the client-acked one
 * (expiredInPrefetch OK): the policy was applied to the queue's own expiry only.
 */
const unavailable = jmsUnavailable();

describe.skipIf(unavailable !== undefined)(`processExpired=false and JMS expiry (ActiveMQ 5.17)${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: LocalMQ | undefined;
  let run: JmsRun | undefined;
  beforeAll(async () => {
    broker = await startBroker({ engine: 'activemq', ports: { openwire: 0 } });
    broker.core.activeMqDeadLetterStrategy = () => ({ kind: 'shared', queue: 'ActiveMQ.DLQ', processNonPersistent: false, processExpired: false });
    run = await runJms(broker.urls.openwire!.replace('localhost', '127.0.0.1'), ['expiredInPrefetch', 'expiry']);
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  it('a message expired in its queue does not reach ActiveMQ.DLQ', () => {
    expect(run!.results.get('expiry')).toMatch(/the persistent one on ActiveMQ\.DLQ: null$/);
  });

  it('a message its client acks as expired does not reach ActiveMQ.DLQ either', () => {
    expect(run!.results.get('expiredInPrefetch')).toMatch(/p1 on ActiveMQ\.DLQ: null$/);
  });
});
