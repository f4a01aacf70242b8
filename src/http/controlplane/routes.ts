import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { AVAILABILITY_ZONES, ENGINE_VERSIONS, INSTANCE_OFFERS, engineTypeOf, modesOn, storageTypes, versionsOn, type EngineType } from './catalog.js';
import type { ControlPlane } from './control-plane.js';
import { badRequest, MqApiError, userNotFound } from './errors.js';
import { brokerSummary } from './present.js';
import { bool, page, str, strings, tagMap, userInput, type Json } from './validate.js';

interface Request {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Json;
  region: string;
}

type Result = { status?: number; body?: Json };
type Handler = (r: Request) => Result | Promise<Result>;

interface Route {
  method: string;
  segments: string[];
  handle: Handler;
}

const MAX_BODY = 1024 * 1024;

/**
 * Amazon MQ's REST API (rest-json, API version 2017-11-27) on LocalMQ's `api` port: the
 * operations of @aws-sdk/client-mq's service model on their paths, JSON members in camelCase.
 * Any credentials and region are accepted (SigV4 is not verified); the region a request is
 * signed for goes into the ARNs and Amazon-style host names of what it creates.
 */
export function apiHandler(cp: ControlPlane): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const routes = buildRoutes(cp);
  return (req, res) => {
    void serve(cp, routes, req, res).catch((err: unknown) => {
      cp.logger.warn('Amazon MQ API request failed', { path: req.url, error: (err as Error).message });
      if (!res.headersSent) sendError(res, new MqApiError('InternalServerErrorException', undefined, (err as Error).message));
      else res.destroy();
    });
  };
}

async function serve(cp: ControlPlane, routes: Route[], req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let segments: string[];
  try {
    segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return sendError(res, badRequest('path', `malformed URL encoding in ${url.pathname}`));
  }
  // Amazon MQ's operations are SigV4-signed: any key and secret pass (the signature is not
  // checked), but a request with no credentials at all is refused as AWS refuses it
  if (segments[0] === 'v1' && !signed(req, url)) {
    return sendError(res, new MqApiError('UnauthorizedException', undefined, 'The request is not signed: LocalMQ accepts any AWS credentials (SigV4 signatures are not verified), but Amazon MQ API requests must carry them.'));
  }
  const matching = routes.map((r) => ({ r, params: match(r.segments, segments) })).filter((m) => m.params !== undefined);
  const found = matching.find((m) => m.r.method === req.method);
  if (!found) {
    const type = matching.length ? 'BadRequestException' : 'NotFoundException';
    return sendError(res, new MqApiError(type, undefined, `No operation ${req.method} ${url.pathname} in the Amazon MQ API.`));
  }
  const raw = await readBody(req);
  let body: Json = {};
  if (raw.length > 0) {
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Json;
    } catch {
      return sendError(res, badRequest('body', 'The request body is not a JSON object.'));
    }
  }
  try {
    const result = await found.r.handle({ params: found.params!, query: url.searchParams, body, region: signedRegion(req) ?? cp.options.region });
    const status = result.status ?? 200;
    const text = result.body === undefined ? '' : JSON.stringify(result.body);
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(text) });
    res.end(text);
  } catch (err) {
    if (err instanceof MqApiError) return sendError(res, err);
    throw err;
  }
}

function sendError(res: http.ServerResponse, err: MqApiError): void {
  const text = JSON.stringify(err.body());
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'x-amzn-errortype': err.type,
    'x-amzn-requestid': randomUUID(),
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('request body too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** signed with SigV4, in the Authorization header or a presigned query (the signature itself is not checked) */
function signed(req: http.IncomingMessage, url: URL): boolean {
  const auth = String(req.headers['authorization'] ?? '');
  if (/^AWS4-HMAC-SHA256 Credential=[^/\s]+\//.test(auth)) return true;
  return url.searchParams.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256' && url.searchParams.has('X-Amz-Credential');
}

/** the region of the SigV4 credential scope: `Credential=AKID/20261128/eu-west-1/mq/aws4_request` */
function signedRegion(req: http.IncomingMessage): string | undefined {
  const m = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/mq\//.exec(String(req.headers['authorization'] ?? ''));
  return m?.[1];
}

function match(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith('{')) params[p.slice(1, -1)] = segments[i]!;
    else if (p !== segments[i]) return undefined;
  }
  return params;
}

function route(method: string, path: string, handle: Handler): Route {
  return { method, segments: path.split('/').filter(Boolean), handle };
}

function buildRoutes(cp: ControlPlane): Route[] {
  return [
    // ---- brokers
    route('POST', '/v1/brokers', (r) => ({ body: cp.createBroker(r.body, r.region) })),
    route('GET', '/v1/brokers', (r) => {
      const p = page(cp.listBrokers(), r.query);
      return { body: { brokerSummaries: p.items.map((b) => brokerSummary(b, cp.state(b.brokerId))), ...(p.nextToken ? { nextToken: p.nextToken } : {}) } };
    }),
    route('GET', '/v1/brokers/{id}', (r) => ({ body: cp.describeBroker(r.params['id']!) })),
    route('PUT', '/v1/brokers/{id}', (r) => ({ body: cp.updateBroker(r.params['id']!, r.body) })),
    route('DELETE', '/v1/brokers/{id}', (r) => ({ body: cp.deleteBroker(r.params['id']!) })),
    route('POST', '/v1/brokers/{id}/reboot', (r) => {
      void cp.rebootBroker(r.params['id']!).catch(() => undefined);
      return { body: {} };
    }),
    route('POST', '/v1/brokers/{id}/promote', (r) => {
      cp.record(r.params['id']!);
      const mode = str(r.body, 'mode', true);
      if (mode !== 'SWITCHOVER' && mode !== 'FAILOVER') throw badRequest('mode', `Promote mode [${mode}] is invalid. Valid values are: [SWITCHOVER, FAILOVER].`);
      return { body: cp.promote(r.params['id']!, mode) };
    }),
    // ---- users (ActiveMQ)
    route('GET', '/v1/brokers/{id}/users', (r) => {
      const b = cp.activeMqBroker(r.params['id']!);
      const p = page(b.users, r.query, 5, 100);
      return {
        body: {
          brokerId: b.brokerId,
          maxResults: Number(r.query.get('maxResults') ?? 100),
          users: p.items.map((u) => (u.pending ? { username: u.username, pendingChange: u.pending.pendingChange } : { username: u.username })),
          ...(p.nextToken ? { nextToken: p.nextToken } : {}),
        },
      };
    }),
    route('POST', '/v1/brokers/{id}/users/{username}', (r) => {
      const b = cp.activeMqBroker(r.params['id']!);
      const u = userInput(b.engineType, r.body, r.params['username']);
      if (cp.userRecord(b, u.username)) throw new MqApiError('ConflictException', 'username', `User [${u.username}] already exists on broker [${b.brokerId}].`);
      const live = cp.activeInstance(b.brokerId);
      if (live) {
        live.users.addUser(u.username, u.password, [], { groups: u.groups, consoleAccess: u.consoleAccess });
        for (const vhost of live.core.vhosts.keys()) live.users.setPermission({ user: u.username, vhost, configure: '.*', write: '.*', read: '.*' });
      }
      b.users.push({ username: u.username, consoleAccess: u.consoleAccess, groups: u.groups, replicationUser: u.replicationUser, pending: { pendingChange: 'CREATE', consoleAccess: u.consoleAccess, groups: u.groups } });
      cp.save();
      return { body: {} };
    }),
    route('GET', '/v1/brokers/{id}/users/{username}', (r) => {
      const b = cp.activeMqBroker(r.params['id']!);
      const u = cp.userRecord(b, r.params['username']!);
      if (!u) throw userNotFound(r.params['username']!);
      return {
        body: {
          brokerId: b.brokerId,
          consoleAccess: u.consoleAccess,
          groups: u.groups,
          ...(u.pending ? { pending: u.pending } : {}),
          replicationUser: u.replicationUser,
          username: u.username,
        },
      };
    }),
    route('PUT', '/v1/brokers/{id}/users/{username}', (r) => {
      const b = cp.activeMqBroker(r.params['id']!);
      const username = r.params['username']!;
      const u = cp.userRecord(b, username);
      if (!u || u.pending?.pendingChange === 'DELETE') throw userNotFound(username);
      const password = str(r.body, 'password');
      const groups = strings(r.body, 'groups');
      const consoleAccess = bool(r.body, 'consoleAccess');
      const replicationUser = bool(r.body, 'replicationUser');
      if (replicationUser !== undefined) u.replicationUser = replicationUser;
      if (password !== undefined || groups !== undefined) userInput(b.engineType, { password: password ?? 'unchanged-Passw0rd', groups }, username);
      const live = cp.activeInstance(b.brokerId);
      const def = live?.users.getUser(username);
      if (live && def) {
        if (password !== undefined) live.users.setPassword(username, password);
        live.users.putUser({ ...live.users.getUser(username)!, ...(groups ? { groups } : {}), ...(consoleAccess !== undefined ? { consoleAccess } : {}) });
      }
      const pendingChange = u.pending?.pendingChange === 'CREATE' ? 'CREATE' : 'UPDATE';
      u.pending = { pendingChange, consoleAccess: consoleAccess ?? u.pending?.consoleAccess ?? u.consoleAccess, groups: groups ?? u.pending?.groups ?? u.groups };
      if (pendingChange === 'CREATE') {
        u.consoleAccess = u.pending.consoleAccess!;
        u.groups = u.pending.groups!;
      }
      cp.save();
      return { body: {} };
    }),
    route('DELETE', '/v1/brokers/{id}/users/{username}', (r) => {
      const b = cp.activeMqBroker(r.params['id']!);
      const username = r.params['username']!;
      const u = cp.userRecord(b, username);
      if (!u || u.pending?.pendingChange === 'DELETE') throw userNotFound(username);
      // applied to the live broker at once: the user can no longer connect
      cp.activeInstance(b.brokerId)?.users.deleteUser(username);
      if (u.pending?.pendingChange === 'CREATE') b.users = b.users.filter((x) => x !== u);
      else u.pending = { pendingChange: 'DELETE' };
      cp.save();
      return { body: {} };
    }),
    // ---- configurations
    route('POST', '/v1/configurations', (r) => {
      const c = cp.configurations.create(r.body, r.region);
      const d = cp.configurations.describe(c);
      return { body: { arn: d.arn, authenticationStrategy: d.authenticationStrategy, created: d.created, id: d.id, latestRevision: d.latestRevision, name: d.name } };
    }),
    route('GET', '/v1/configurations', (r) => {
      const all = [...cp.configurations.records.values()].sort((a, b) => a.created.localeCompare(b.created));
      const p = page(all, r.query, 5, 100);
      return { body: { configurations: p.items.map((c) => cp.configurations.describe(c)), maxResults: Number(r.query.get('maxResults') ?? 100), ...(p.nextToken ? { nextToken: p.nextToken } : {}) } };
    }),
    route('GET', '/v1/configurations/{id}', (r) => ({ body: cp.configurations.describe(cp.configurations.get(r.params['id']!)) })),
    route('PUT', '/v1/configurations/{id}', (r) => {
      const { record, warnings } = cp.configurations.update(r.params['id']!, r.body);
      const d = cp.configurations.describe(record);
      return { body: { arn: d.arn, created: d.created, id: d.id, latestRevision: d.latestRevision, name: d.name, warnings } };
    }),
    route('DELETE', '/v1/configurations/{id}', (r) => {
      const id = r.params['id']!;
      cp.configurations.get(id);
      const user = cp.listBrokers().find((b) => b.configuration?.id === id || b.pending.configuration?.id === id);
      if (user) throw new MqApiError('ConflictException', 'configuration_id', `Configuration [${id}] is in use by broker [${user.brokerId}].`);
      cp.configurations.records.delete(id);
      cp.save();
      return { body: { configurationId: id } };
    }),
    route('GET', '/v1/configurations/{id}/revisions', (r) => {
      const c = cp.configurations.get(r.params['id']!);
      const p = page(c.revisions, r.query, 1, 100);
      return {
        body: {
          configurationId: c.id,
          maxResults: Number(r.query.get('maxResults') ?? 100),
          revisions: p.items.map((x) => ({ created: x.created, description: x.description, revision: x.revision })),
          ...(p.nextToken ? { nextToken: p.nextToken } : {}),
        },
      };
    }),
    route('GET', '/v1/configurations/{id}/revisions/{revision}', (r) => {
      const x = cp.configurations.revision(r.params['id']!, r.params['revision']!);
      return { body: { configurationId: r.params['id']!, created: x.created, data: x.data, description: x.description } };
    }),
    // ---- catalog
    route('GET', '/v1/broker-engine-types', (r) => {
      const engine = engineFilter(r.query.get('engineType'));
      const types = (Object.keys(ENGINE_VERSIONS) as EngineType[]).filter((e) => !engine || e === engine);
      const p = page(types, r.query, 5, 100);
      return {
        body: {
          brokerEngineTypes: p.items.map((e) => ({ engineType: e, engineVersions: ENGINE_VERSIONS[e].map((name) => ({ name })) })),
          maxResults: Number(r.query.get('maxResults') ?? 100),
          ...(p.nextToken ? { nextToken: p.nextToken } : {}),
        },
      };
    }),
    route('GET', '/v1/broker-instance-options', (r) => {
      const engine = engineFilter(r.query.get('engineType'));
      const host = r.query.get('hostInstanceType');
      const storage = r.query.get('storageType')?.toUpperCase();
      const options: Json[] = [];
      for (const o of INSTANCE_OFFERS) {
        for (const e of o.engineTypes) {
          if ((engine && e !== engine) || (host && o.hostInstanceType !== host)) continue;
          for (const s of storageTypes(e, o)) {
            if (storage && s !== storage) continue;
            options.push({
              availabilityZones: AVAILABILITY_ZONES(r.region).map((name) => ({ name })),
              engineType: e,
              hostInstanceType: o.hostInstanceType,
              storageType: s,
              supportedDeploymentModes: modesOn(e, o).filter((m) => s !== 'EBS' || e !== 'ACTIVEMQ' || m === 'SINGLE_INSTANCE'),
              supportedEngineVersions: versionsOn(e, o),
            });
          }
        }
      }
      const p = page(options, r.query, 5, 100);
      return { body: { brokerInstanceOptions: p.items, maxResults: Number(r.query.get('maxResults') ?? 100), ...(p.nextToken ? { nextToken: p.nextToken } : {}) } };
    }),
    // ---- tags
    route('GET', '/v1/tags/{arn}', (r) => ({ body: { tags: cp.taggable(r.params['arn']!).tags } })),
    route('POST', '/v1/tags/{arn}', (r) => {
      const target = cp.taggable(r.params['arn']!);
      Object.assign(target.tags, tagMap(r.body) ?? {});
      cp.save();
      return { status: 204 };
    }),
    route('DELETE', '/v1/tags/{arn}', (r) => {
      const target = cp.taggable(r.params['arn']!);
      const keys = r.query.getAll('tagKeys').flatMap((k) => k.split(','));
      if (keys.length === 0) throw badRequest('tagKeys', 'The request failed because it is missing the required parameter [tagKeys].');
      for (const k of keys) delete target.tags[k];
      cp.save();
      return { status: 204 };
    }),
    // ---- LocalMQ's own: fail an active/standby pair over (the `localmq failover` command)
    route('POST', '/localmq/brokers/{id}/failover', async (r) => ({ body: { ...(await cp.failover(r.params['id']!)) } })),
  ];
}

function engineFilter(value: string | null): EngineType | undefined {
  if (value === null || value === '') return undefined;
  const e = engineTypeOf(value);
  if (!e) throw badRequest('engineType', `Broker engine type [${value}] is invalid. Valid values are: [ACTIVEMQ, RABBITMQ].`);
  return e;
}
