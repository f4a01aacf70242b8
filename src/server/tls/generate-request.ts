import type { PemPair } from './generate.js';

/** what generate-child.ts is asked to make (JSON: dates as milliseconds) */
export type GenerateRequest =
  | { kind: 'ca'; now: number }
  | { kind: 'server'; now: number; ca: PemPair; hostnames: string[]; key?: string };
