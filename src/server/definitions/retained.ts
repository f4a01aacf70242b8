import type { VhostDef } from '../../store/store.js';
import type { GlobalParameterDef, Limits, ParameterDef } from './format.js';

/**
 * Definitions the broker keeps without acting on them yet (runtime parameters drive no
 * plugin), so that an export gives back what an import or a restart brought in. Vhost
 * metadata is also written to the store. Policies live in the core (`Broker.policies`); topic
 * permissions with the users (`UserRegistry`), which enforces them.
 */
export interface RetainedDefinitions {
  /** vhost name -> description, tags, default queue type */
  vhostMeta: Map<string, VhostDef>;
  parameters: ParameterDef[];
  globalParameters: GlobalParameterDef[];
  userLimits: Record<string, Limits>;
  vhostLimits: Record<string, Limits>;
}

export function emptyRetained(): RetainedDefinitions {
  return {
    vhostMeta: new Map(),
    parameters: [],
    globalParameters: [],
    userLimits: {},
    vhostLimits: {},
  };
}
