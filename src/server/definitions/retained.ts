import type { PolicyDef, VhostDef } from '../../store/store.js';
import type { GlobalParameterDef, Limits, ParameterDef, TopicPermissionDef } from './format.js';

/**
 * Definitions the broker keeps without acting on them yet (policies are not applied to
 * queues, runtime parameters drive no plugin), so that an export gives back what an import
 * or a restart brought in. Vhost metadata and policies are also written to the store.
 */
export interface RetainedDefinitions {
  /** vhost name -> description, tags, default queue type */
  vhostMeta: Map<string, VhostDef>;
  /** `${vhost}\u0000${name}` -> policy */
  policies: Map<string, PolicyDef>;
  topicPermissions: TopicPermissionDef[];
  parameters: ParameterDef[];
  globalParameters: GlobalParameterDef[];
  userLimits: Record<string, Limits>;
  vhostLimits: Record<string, Limits>;
}

export function emptyRetained(): RetainedDefinitions {
  return {
    vhostMeta: new Map(),
    policies: new Map(),
    topicPermissions: [],
    parameters: [],
    globalParameters: [],
    userLimits: {},
    vhostLimits: {},
  };
}

export function policyKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}
