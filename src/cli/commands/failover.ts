import { CliError } from '../fail.js';
import { probeHost } from '../probe.js';
import { runningBroker } from './control.js';

/**
 * `localmq failover BROKER_ID`: fail an ACTIVE_STANDBY_MULTI_AZ broker created through the
 * Amazon MQ API over to its standby, as a host failure would (the active instance stops
 * abruptly; the standby takes the store's lock and serves on its own endpoints).
 */
export async function runFailover(runDir: string, brokerId: string): Promise<void> {
  const state = runningBroker(runDir);
  const port = state.ports['api'];
  if (port === undefined) throw new CliError('the running broker has no Amazon MQ API (--api-port off): restart it with one');
  const host = probeHost(state.hosts);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/localmq/brokers/${encodeURIComponent(brokerId)}/failover`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`cannot reach the Amazon MQ API at port ${port} (${cause}): is the broker running?`);
  }
  const body = (await res.json().catch(() => ({}))) as { message?: string; activeInstance?: number; millis?: number };
  if (!res.ok) throw new CliError(`failover of ${brokerId} refused: ${body.message ?? res.status}`);
  process.stdout.write(`${brokerId}: instance -${body.activeInstance} is active, serving ${body.millis?.toFixed(1)} ms after the trigger\n`);
}
