import type { Store } from '../store/store.js';
import { newIdentity, type BrokerIdentity } from './endpoints.js';

const IDENTITY_NAMESPACE = 'localmq';

/** the broker id (and region) a data dir keeps across restarts */
export function restoreIdentity(store: Store, records: Map<string, Map<string, unknown>>, region: string | undefined, brokerId?: string): BrokerIdentity {
  if (brokerId !== undefined) {
    const identity = { brokerId, region: region ?? 'us-east-1' };
    store.putRecord(IDENTITY_NAMESPACE, 'identity', { ...identity });
    return identity;
  }
  const saved = records.get(IDENTITY_NAMESPACE)?.get('identity') as BrokerIdentity | undefined;
  if (saved && typeof saved.brokerId === 'string' && typeof saved.region === 'string' && (!region || region === saved.region)) return saved;
  const identity = newIdentity(region ?? saved?.region);
  if (saved) identity.brokerId = saved.brokerId;
  store.putRecord(IDENTITY_NAMESPACE, 'identity', { ...identity });
  return identity;
}
