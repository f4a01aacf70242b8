import type { LocalMQ } from '../../src/index.js';

/** a Basic authorization header */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export const GUEST = basic('guest', 'guest');

/** a fetch Response whose JSON the tests read freely */
export type ApiResponse = Omit<Response, 'json'> & { json(): Promise<any> };

/** fetch against the broker's management port; `body` goes as JSON */
export async function call(broker: LocalMQ, method: string, path: string, opts: { body?: unknown; auth?: string | null; raw?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? GUEST : opts.auth;
  if (auth !== null) headers['authorization'] = auth;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  return fetch(`${broker.urls.http}${path}`, { method, headers, body });
}

/** GET expecting 200 and JSON */
export async function getJson<T = any>(broker: LocalMQ, path: string, auth?: string): Promise<T> {
  const res = await call(broker, 'GET', path, { auth });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
