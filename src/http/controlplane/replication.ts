import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalMQ } from '../../server/local-mq.js';
import type { Logger } from '../../server/logger.js';
import { FileStore } from '../../store/file/file-store.js';
import type { PermissionDef, UserDef } from '../../store/store.js';

/**
 * Cross-region data replication (CRDR) between two brokers of the control plane, as far as
 * one process can honestly do it. Amazon MQ replicates the primary's broker state to the
 * replica asynchronously; LocalMQ copies it when a replica is promoted:
 *
 * - replicated: the primary's durable state as its store holds it — vhosts, exchanges,
 *   queues, bindings, policies and every persistent message of a durable queue (in order,
 *   with its redelivered flag), the store's keyed records (retained messages, sessions);
 * - not replicated: non-persistent messages and non-durable queues (they die with the
 *   primary, as on Amazon MQ), and users: each broker keeps its own users (created with
 *   CreateBroker / CreateUser on that broker), which survive the copy.
 *
 * SWITCHOVER stops the primary cleanly first (every confirmed message is in the copy);
 * FAILOVER stops it abruptly, as a lost region, and the replica takes what the primary's
 * store had made durable by then.
 */

/** the store files of a broker's data dir: everything but its TLS material and lock */
const KEEP = new Set(['tls', 'lock']);

/** the users and permissions a broker's store holds (its own, kept across a copy) */
export async function readUsers(dir: string, logger: Logger): Promise<{ users: UserDef[]; permissions: PermissionDef[] }> {
  if (!existsSync(dir)) return { users: [], permissions: [] };
  const store = new FileStore({ dir, logger: { info: (m) => logger.debug(m), warn: (m) => logger.warn(m) } });
  const state = await store.open();
  await store.close();
  return { users: state.users, permissions: state.permissions };
}

/** replace `to`'s store with a copy of `from`'s (both brokers stopped) */
export async function copyStore(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(to)) if (!KEEP.has(name)) await rm(join(to, name), { recursive: true, force: true });
  if (!existsSync(from)) return;
  for (const name of await readdir(from)) if (!KEEP.has(name)) await cp(join(from, name), join(to, name), { recursive: true });
}

/** after the copy, the promoted broker's users are its own again (the copy brought the primary's) */
export function restoreUsers(broker: LocalMQ, own: { users: UserDef[]; permissions: PermissionDef[] }): void {
  const keep = new Set(own.users.map((u) => u.name));
  for (const u of broker.users.listUsers()) if (!keep.has(u.name)) broker.users.deleteUser(u.name);
  for (const u of own.users) broker.users.putUser(u);
  for (const p of own.permissions) if (broker.core.vhost(p.vhost)) broker.users.setPermission(p);
  // the replicated vhosts the broker's users had no permission in: Amazon MQ's users reach every vhost
  for (const u of own.users) {
    for (const vhost of broker.core.vhosts.keys()) {
      if (!broker.users.getPermission(u.name, vhost)) broker.users.setPermission({ user: u.name, vhost, configure: '.*', write: '.*', read: '.*' });
    }
  }
}
