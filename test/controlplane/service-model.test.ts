import * as schemas from '@aws-sdk/client-mq/dist-es/schemas/schemas_0.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';

/**
 * LocalMQ's Amazon MQ API checked against the service model that @aws-sdk/client-mq ships
 * (dist-es/schemas: operations with their HTTP method, path and status, structures with each
 * member's JSON name and type). The SDK drops JSON keys its model does not know, so a misnamed
 * field would pass every SDK test while the SDK user sees nothing: here every key of every
 * answer, raw over HTTP, must be a member of the operation's output shape with the right type.
 */

type Schema = unknown;
interface Member {
  name: string;
  wire: string;
  location: 'body' | 'label' | 'query' | 'header';
  schema: Schema;
}
interface Operation {
  name: string;
  method: string;
  path: string;
  status: number;
  input: Schema;
  output: Schema;
}

const deref = (s: Schema): Schema => (typeof s === 'function' ? (s as () => Schema)() : s);

/** the SDK's schema arrays: [3, namespace, name, traits, memberNames, memberSchemas] for structures, [1, …, member] for lists, [2, …, key, value] for maps */
function members(schema: Schema): Member[] | undefined {
  const s = deref(schema);
  if (!Array.isArray(s) || (s[0] !== 3 && s[0] !== -3)) return undefined;
  const names = s[4] as string[];
  const schemasOf = s[5] as unknown[];
  return names.map((name, i) => {
    const m = schemasOf[i];
    const [inner, traits] = Array.isArray(m) ? (m as [Schema, unknown]) : [m, 0];
    const t = (typeof traits === 'object' && traits !== null ? traits : {}) as Record<string, string>;
    const location = t['httpQuery'] ? 'query' : t['httpHeader'] ? 'header' : traits === 1 ? 'label' : 'body';
    return { name, wire: t['httpQuery'] ?? t['httpHeader'] ?? t['jsonName'] ?? name, location, schema: inner };
  });
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [key, value] of Object.entries(schemas as Record<string, unknown>)) {
    if (!key.endsWith('$') || !Array.isArray(value) || value[0] !== 9) continue;
    const [method, path, status] = (value[3] as { http: [string, string, number] }).http;
    ops.push({ name: key.slice(0, -1), method, path, status, input: value[4], output: value[5] });
  }
  return ops;
}

/** every way `json` departs from `schema`, as paths */
function conformance(schema: Schema, json: unknown, path: string, out: string[], seen: Set<string>): void {
  const s = deref(schema);
  if (json === null || json === undefined) return;
  if (typeof s === 'number') {
    const ok =
      s === 0 ? typeof json === 'string'
      : s === 1 ? typeof json === 'number' && Number.isInteger(json)
      : s === 2 ? typeof json === 'boolean'
      : s === 4 || s === 5 || s === 6 || s === 7 ? typeof json === 'string' && !Number.isNaN(Date.parse(json))
      : s === (64 | 0) ? Array.isArray(json) && json.every((x) => typeof x === 'string')
      : s === (128 | 0) ? typeof json === 'object' && !Array.isArray(json) && Object.values(json as object).every((x) => typeof x === 'string')
      : true;
    if (!ok) out.push(`${path}: ${JSON.stringify(json)} is not of the model's type ${s}`);
    return;
  }
  if (Array.isArray(s) && s[0] === 1) {
    if (!Array.isArray(json)) return void out.push(`${path}: not a list`);
    json.forEach((x) => conformance(s[4], x, `${path}[]`, out, seen));
    return;
  }
  const ms = members(s);
  if (!ms) return;
  if (typeof json !== 'object' || Array.isArray(json)) return void out.push(`${path}: not an object`);
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    const m = ms.find((x) => x.location === 'body' && x.wire === k);
    if (!m) {
      out.push(`${path}.${k}: not a member of ${String((deref(s) as unknown[])[2])}`);
      continue;
    }
    seen.add(`${path}.${k}`);
    conformance(m.schema, v, `${path}.${k}`, out, seen);
  }
}

const SIGNED = 'AWS4-HMAC-SHA256 Credential=AKIDLOCALMQ/20260101/us-east-1/mq/aws4_request, SignedHeaders=host;x-amz-date, Signature=0';
const PASSWORD = 'correct-horse-battery';

describe('Amazon MQ API against @aws-sdk/client-mq\'s service model', () => {
  let host: LocalMQ;
  const ops = operations();
  const called = new Map<string, number>();
  const problems: string[] = [];

  async function call(op: string, path: string, body?: unknown): Promise<any> {
    const o = ops.find((x) => x.name === op)!;
    const res = await fetch(host.urls.api! + path, { method: o.method, headers: { authorization: SIGNED, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    expect(res.status, `${op} ${path}: ${text}`).toBe(o.status);
    called.set(op, (called.get(op) ?? 0) + 1);
    if (!text) return undefined;
    const json: unknown = JSON.parse(text);
    conformance(o.output, json, op, problems, new Set());
    return json;
  }

  beforeAll(async () => {
    host = await startBroker();
  });
  afterAll(async () => {
    await host.stop();
  });

  it('the model has the 24 operations the issue names, and each answers on its method and path', () => {
    expect(ops.map((o) => o.name).sort()).toEqual(
      [
        'CreateBroker', 'CreateConfiguration', 'CreateTags', 'CreateUser', 'DeleteBroker', 'DeleteConfiguration', 'DeleteTags', 'DeleteUser', 'DescribeBroker',
        'DescribeBrokerEngineTypes', 'DescribeBrokerInstanceOptions', 'DescribeConfiguration', 'DescribeConfigurationRevision', 'DescribeUser', 'ListBrokers',
        'ListConfigurationRevisions', 'ListConfigurations', 'ListTags', 'ListUsers', 'Promote', 'RebootBroker', 'UpdateBroker', 'UpdateConfiguration', 'UpdateUser',
      ].sort(),
    );
  });

  it('every operation\'s answer (raw HTTP) uses only the model\'s member names and types; brokers created back to back both run', async () => {
    const cfg = await call('CreateConfiguration', '/v1/configurations', { engineType: 'ACTIVEMQ', engineVersion: '5.18', name: 'model-conf', tags: { team: 'ops' } });
    await call('UpdateConfiguration', `/v1/configurations/${cfg.id}`, { data: Buffer.from('<broker xmlns="http://activemq.apache.org/schema/core"><plugins/></broker>').toString('base64'), description: 'second' });
    await call('DescribeConfiguration', `/v1/configurations/${cfg.id}`);
    await call('ListConfigurations', '/v1/configurations?maxResults=5');
    await call('ListConfigurationRevisions', `/v1/configurations/${cfg.id}/revisions?maxResults=1`);
    await call('DescribeConfigurationRevision', `/v1/configurations/${cfg.id}/revisions/2`);
    // two CreateBroker calls without waiting in between (infrastructure code creates several at once):
    // both must come up, sharing one local CA
    const [amq, rmq] = await Promise.all([
      call('CreateBroker', '/v1/brokers', {
        brokerName: 'model-amq', engineType: 'ACTIVEMQ', engineVersion: '5.18', hostInstanceType: 'mq.m5.large', deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ', publiclyAccessible: false,
        configuration: { id: cfg.id, revision: 2 }, logs: { general: true, audit: true }, users: [{ username: 'admin', password: PASSWORD, consoleAccess: true, groups: ['admins'] }],
        tags: { env: 'test' }, creatorRequestId: 'model-1', encryptionOptions: { useAwsOwnedKey: false, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/k' },
        maintenanceWindowStartTime: { dayOfWeek: 'TUESDAY', timeOfDay: '02:00', timeZone: 'UTC' },
      }),
      call('CreateBroker', '/v1/brokers', { brokerName: 'model-rabbit', engineType: 'RABBITMQ', engineVersion: '3.13', hostInstanceType: 'mq.m5.large', deploymentMode: 'CLUSTER_MULTI_AZ', publiclyAccessible: true, logs: { general: true }, users: [{ username: 'app', password: PASSWORD }] }),
    ]);
    await host.controlPlane.settled(amq.brokerId);
    await host.controlPlane.settled(rmq.brokerId);
    const a = await call('DescribeBroker', `/v1/brokers/${amq.brokerId}`);
    const r = await call('DescribeBroker', `/v1/brokers/${rmq.brokerId}`);
    expect([a.brokerState, r.brokerState]).toEqual(['RUNNING', 'RUNNING']);
    expect(a.brokerInstances).toHaveLength(2);
    expect(a.encryptionOptions).toEqual({ useAwsOwnedKey: false, kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/k' });
    await call('ListBrokers', '/v1/brokers?maxResults=1');
    await call('CreateUser', `/v1/brokers/${amq.brokerId}/users/worker`, { password: PASSWORD, groups: ['workers'], consoleAccess: false });
    await call('DescribeUser', `/v1/brokers/${amq.brokerId}/users/worker`);
    await call('UpdateUser', `/v1/brokers/${amq.brokerId}/users/admin`, { groups: ['operators'], replicationUser: true });
    expect((await call('DescribeUser', `/v1/brokers/${amq.brokerId}/users/admin`)).replicationUser).toBe(true);
    await call('ListUsers', `/v1/brokers/${amq.brokerId}/users?maxResults=5`);
    await call('DeleteUser', `/v1/brokers/${amq.brokerId}/users/worker`);
    await call('UpdateBroker', `/v1/brokers/${amq.brokerId}`, {
      engineVersion: '5.19', hostInstanceType: 'mq.m5.xlarge', configuration: { id: cfg.id, revision: 1 }, logs: { general: false, audit: true }, securityGroups: ['sg-1'],
      maintenanceWindowStartTime: { dayOfWeek: 'MONDAY', timeOfDay: '01:00', timeZone: 'UTC' }, autoMinorVersionUpgrade: false,
    });
    const pending = await call('DescribeBroker', `/v1/brokers/${amq.brokerId}`);
    expect(pending).toMatchObject({ pendingEngineVersion: '5.19', pendingHostInstanceType: 'mq.m5.xlarge', pendingSecurityGroups: ['sg-1'] });
    const arn = encodeURIComponent(amq.brokerArn as string);
    await call('CreateTags', `/v1/tags/${arn}`, { tags: { owner: 'ops' } });
    await call('ListTags', `/v1/tags/${arn}`);
    await call('DeleteTags', `/v1/tags/${arn}?tagKeys=owner`);
    await call('DescribeBrokerEngineTypes', '/v1/broker-engine-types');
    await call('DescribeBrokerInstanceOptions', '/v1/broker-instance-options?engineType=ACTIVEMQ&maxResults=5');
    await call('RebootBroker', `/v1/brokers/${amq.brokerId}/reboot`);
    await host.controlPlane.settled(amq.brokerId);
    const rebooted = await call('DescribeBroker', `/v1/brokers/${amq.brokerId}`);
    expect(rebooted).toMatchObject({ engineVersion: '5.19', hostInstanceType: 'mq.m5.xlarge', securityGroups: ['sg-1'], configurations: { current: { id: cfg.id, revision: 1 } } });
    await call('DeleteBroker', `/v1/brokers/${rmq.brokerId}`);
    const spare = await call('CreateConfiguration', '/v1/configurations', { engineType: 'RABBITMQ', engineVersion: '3.13', name: 'spare' });
    await call('DeleteConfiguration', `/v1/configurations/${spare.id}`);

    // Promote needs a CRDR pair (crdr.test.ts): here only its error shape
    const promote = await fetch(`${host.urls.api!}/v1/brokers/${amq.brokerId}/promote`, { method: 'POST', headers: { authorization: SIGNED }, body: JSON.stringify({ mode: 'SWITCHOVER' }) });
    expect(promote.status).toBe(400);
    expect(promote.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    expect(Object.keys((await promote.json()) as object).sort()).toEqual(['errorAttribute', 'message']);
    called.set('Promote', 1);

    expect(problems).toEqual([]);
    expect(ops.filter((o) => !called.has(o.name)).map((o) => o.name)).toEqual([]);
  });

  it('every error class of the model carries ErrorAttribute and Message, its HTTP status and x-amzn-ErrorType', async () => {
    const errors = Object.entries(schemas as Record<string, unknown>).filter(([k, v]) => k.endsWith('Exception$') && k !== 'MqServiceException$' && Array.isArray(v) && v[0] === -3);
    const status = Object.fromEntries(errors.map(([k, v]) => [k.slice(0, -1), ((v as unknown[])[3] as { httpError: number }).httpError]));
    expect(Object.keys(status).sort()).toEqual(['BadRequestException', 'ConflictException', 'ForbiddenException', 'InternalServerErrorException', 'NotFoundException', 'UnauthorizedException']);
    for (const [, v] of errors) expect((v as unknown[])[4]).toEqual(['ErrorAttribute', 'Message']);
    const cases: Array<[string, string, string, unknown, Record<string, string>?]> = [
      ['BadRequestException', 'POST', '/v1/brokers', { brokerName: 'x' }],
      ['NotFoundException', 'GET', '/v1/brokers/b-00000000-0000-0000-0000-000000000000', undefined],
      ['ConflictException', 'POST', '/v1/brokers', { brokerName: 'model-amq', engineType: 'ACTIVEMQ', hostInstanceType: 'mq.m5.large', deploymentMode: 'SINGLE_INSTANCE', publiclyAccessible: false, users: [{ username: 'admin', password: PASSWORD }] }],
      ['ForbiddenException', 'GET', `/v1/tags/${encodeURIComponent('arn:aws:mq:us-east-1:123456789012:broker:x:b-1')}`, undefined],
      ['UnauthorizedException', 'GET', '/v1/brokers', undefined, {}],
    ];
    for (const [type, method, path, body, headers] of cases) {
      const res = await fetch(host.urls.api! + path, { method, headers: headers ?? { authorization: SIGNED }, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = (await res.json()) as Record<string, unknown>;
      expect({ type, status: res.status, header: res.headers.get('x-amzn-errortype') }).toEqual({ type, status: status[type], header: type });
      // errorAttribute names the field at fault; a request without credentials has none
      expect(Object.keys(json).sort(), type).toEqual(type === 'UnauthorizedException' ? ['message'] : ['errorAttribute', 'message']);
      expect(typeof json['message']).toBe('string');
    }
  });
});
