import { afterAll, beforeAll } from 'vitest';
import { startBroker, type BrokerOptions, type LocalMQ } from '../../src/index.js';

/** a getter for what a file's beforeAll makes, which says so when reached too early */
export function afterStart<T>(what: string, value: () => T | undefined): () => T {
  return () => {
    const v = value();
    if (v === undefined) throw new Error(`the shared ${what} is made in beforeAll: reach it inside a test or hook`);
    return v;
  };
}

/**
 * One broker for a whole test file: started before its first test, stopped after its
 * last. Returns a getter, since the broker exists only once the hook has run.
 */
export function useBroker(options?: BrokerOptions): () => LocalMQ {
  let broker: LocalMQ | undefined;
  beforeAll(async () => {
    broker = await startBroker(options);
  });
  afterAll(async () => {
    await broker?.stop();
  });
  return afterStart('broker', () => broker);
}

/** a user with every permission on vhost '/' and a topic permission there (RabbitMQ's set_topic_permissions) */
export function addTopicUser(broker: LocalMQ, user: string, password: string, topic: { exchange?: string; write: string; read: string }): void {
  broker.users.addUser(user, password, []);
  broker.users.setPermission({ user, vhost: '/', configure: '.*', write: '.*', read: '.*' });
  broker.users.setTopicPermission({ user, vhost: '/', exchange: topic.exchange ?? 'amq.topic', write: topic.write, read: topic.read });
}

/**
 * Resolves once `condition()` holds: checked now and after each message the broker takes (its 'published'
 * event, emitted once the message is in its queues and counted against the memory watermark), instead of
 * polling on a timer
 */
export function afterPublishes(broker: LocalMQ, condition: () => boolean): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition()) return;
      broker.core.off('published', check);
      resolve();
    };
    broker.core.on('published', check);
  });
}
