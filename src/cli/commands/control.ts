import { CliError, EXIT_NOT_RUNNING } from '../fail.js';
import { probeHost } from '../probe.js';
import { isAlive, readState, type RunState } from '../run-state.js';

/** The running broker's state, or a not-running error naming the run dir. */
export function runningBroker(runDir: string): RunState {
  const state = readState(runDir);
  if (!state) throw new CliError(`no broker is running from ${runDir}: start one with 'localmq start --detach' (or pass its --run-dir)`, EXIT_NOT_RUNNING);
  if (!isAlive(state.pid)) throw new CliError(`the broker (pid ${state.pid}) from ${runDir} is not running any more; start it again`, EXIT_NOT_RUNNING);
  return state;
}

/** Where and how to reach a management API: the local broker's (Bearer control token) or any given URL (Basic). */
export interface ApiTarget {
  url: string;
  authorization: string;
}

export function localApi(state: RunState): ApiTarget {
  const port = state.ports['http'];
  if (port === undefined) throw new CliError('the running broker has no management endpoint (--http-port off): restart it with one');
  // the printed URL uses the advertised host name; go to the bound address, as `wait` does
  const host = probeHost(state.hosts);
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, authorization: `Bearer ${state.controlToken}` };
}

export function remoteApi(url: string, user: string, password: string): ApiTarget {
  return { url: url.replace(/\/+$/, ''), authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** One management API call; a refusal becomes a CliError with the server's reason. */
export async function callApi(target: ApiTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${target.url}${path}`, {
      method,
      headers: { authorization: target.authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`cannot reach the management API at ${target.url} (${cause}): is the broker running?`);
  }
  const text = await res.text();
  if (!res.ok) {
    let reason = text;
    try {
      reason = (JSON.parse(text) as { reason?: string }).reason ?? text;
    } catch {
      // not JSON: the text is the reason
    }
    throw new CliError(`${method} ${path} failed with ${res.status}: ${reason}`);
  }
  return text === '' ? undefined : JSON.parse(text);
}
