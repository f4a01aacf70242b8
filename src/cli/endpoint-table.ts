import { endpointTable, unavailableEndpoints } from '../server/endpoints.js';
import { trustHints } from '../server/tls/certificates.js';
import type { Engine } from '../server/options.js';
import type { ListenerKey } from '../server/profiles.js';
import type { RunState } from './run-state.js';

/**
 * The broker's endpoints the way the Amazon MQ console lists them, then how to log in,
 * where state lives and which CA to trust.
 */
export function formatEndpoints(state: RunState): string {
  const rows: [string, string][] = endpointTable(state.hostname, state.ports as Partial<Record<ListenerKey, number>>).map((e) => [e.name, e.url]);
  // a listener the table does not know yet still shows, with the URL the broker gave
  const known = new Set(rows.map(([, url]) => url));
  for (const [key, url] of Object.entries(state.urls)) {
    if (!known.has(url) && !(key in state.ports)) rows.push([key, url]);
  }
  const width = Math.max(...rows.map(([name]) => name.length), 12);
  const lines = [`LocalMQ ${state.version} (engine: ${state.engine}) is running, pid ${state.pid}`, '', '  Endpoints'];
  for (const [name, url] of rows) lines.push(`    ${name.padEnd(width)}  ${url}`);
  const missing = unavailableEndpoints(state.engine as Engine, state.hostname);
  for (const m of missing) lines.push(`    ${m.name.padEnd(width)}  (not yet available in LocalMQ)`);
  // Amazon MQ's brokers are TLS-only: those are the endpoints an app's Amazon config names
  const amazon = Object.entries(state.amazonUrls ?? {}).filter(([, url]) => /^(amqps|stomp\+ssl|mqtt\+ssl|wss|https|ssl):/.test(url));
  if (amazon.length) {
    const hosts = [...new Set(amazon.map(([, url]) => new URL(url.replace(/^[a-z+]+:/, 'http:')).hostname))];
    lines.push('', `  Amazon MQ form (the certificate covers it; add "127.0.0.1 ${hosts.join(' ')}" to /etc/hosts to use it)`);
    const names = new Map(endpointTable(state.hostname, state.ports as Partial<Record<ListenerKey, number>>).map((e) => [e.key as string, e.name]));
    for (const [key, url] of amazon) lines.push(`    ${(names.get(key) ?? key).padEnd(width)}  ${url}`);
    const openwire = amazon.find(([key]) => key === 'openwireSsl')?.[1];
    if (openwire) {
      // an active/standby Amazon MQ broker has two instances, -1 and -2: JMS apps name both
      lines.push(`    ${'JMS failover'.padEnd(width)}  failover:(${openwire},${openwire.replace(/-1\./, '-2.')})`);
    }
  }
  lines.push('');
  const label = (l: string) => `  ${l.padEnd(12)} `;
  state.credentials.forEach((c, i) => lines.push(`${label(i === 0 ? 'Credentials' : '')}${c}`));
  lines.push(`${label('Data dir')}${state.dataDir ?? 'in memory (everything is gone when it stops)'}`);
  if (state.caFile) {
    lines.push(`${label('CA file')}${state.caFile}`);
    for (const hint of trustHints(state.caFile)) lines.push(`${label('')}${hint}`);
  }
  if (state.logFile) lines.push(`${label('Log file')}${state.logFile}`);
  return lines.join('\n') + '\n';
}

/** the lines a test or script parses: `name  url` rows */
export const ENDPOINT_LINE = /^ {4}(.+?) {2,}([a-z+]+:\/\/\S+)$/;
