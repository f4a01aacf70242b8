import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerOptions, ConfigError, resolveSettings, settingsFromEnv, settingsFromFile } from '../../src/cli/config.js';

const cwd = '/srv/app';

describe('settings resolution', () => {
  it('defaults: rabbitmq profile on standard ports, persistent in ./.localmq, guest only', () => {
    const s = resolveSettings([], cwd);
    expect(s).toMatchObject({ hosts: ['127.0.0.1', '::1'], hostname: 'localhost', engine: 'all', ports: {}, freePorts: false, users: undefined, dataDir: '/srv/app/.localmq', runDir: '/srv/app/.localmq', logLevel: 'info' });
    expect(brokerOptions(s)).toMatchObject({ freePorts: false, dataDir: '/srv/app/.localmq' });
  });

  it('--in-memory drops the data dir; run files go to ./.localmq unless --run-dir', () => {
    expect(resolveSettings([{ raw: { inMemory: true }, source: 'flag' }], cwd)).toMatchObject({ dataDir: undefined, runDir: '/srv/app/.localmq' });
    expect(brokerOptions(resolveSettings([{ raw: { inMemory: 'true', runDir: 'run' }, source: 'env' }], cwd))).not.toHaveProperty('dataDir');
  });

  it('takes each setting from the highest layer that has it', () => {
    const s = resolveSettings(
      [
        { raw: { ports: { amqp: '5673' } }, source: 'flag' },
        { raw: { ports: { amqp: '5674', mqtt: 'off' }, engine: 'all' }, source: 'env' },
        { raw: { ports: { amqp: 5675, stomp: 0 }, engine: 'activemq', logLevel: 'debug' }, source: 'file' },
      ],
      cwd,
    );
    expect(s.ports).toEqual({ amqp: 5673, mqtt: false, stomp: 0 });
    expect(s.engine).toBe('all');
    expect(s.logLevel).toBe('debug');
  });

  it('parses users with tags, and passwords holding colons', () => {
    const s = resolveSettings([{ raw: { users: ['app:s3cret:management,monitoring', 'svc:a:b:c:', 'plain:pw'] }, source: 'flag' }], cwd);
    expect(s.users).toEqual([
      { name: 'app', password: 's3cret', tags: ['management', 'monitoring'] },
      { name: 'svc', password: 'a:b:c', tags: [] },
      { name: 'plain', password: 'pw' },
    ]);
    expect(() => resolveSettings([{ raw: { users: ['nopass:'] }, source: 'flag' }], cwd)).toThrow("--user: user 'nopass' needs a password");
  });

  it('--verbose means trace', () => {
    expect(resolveSettings([{ raw: { verbose: true, logLevel: 'warn' }, source: 'flag' }], cwd).logLevel).toBe('trace');
  });

  it('names the bad value and where it came from', () => {
    expect(() => resolveSettings([{ raw: { ports: { amqp: '70000' } }, source: 'flag' }], cwd)).toThrow(new ConfigError(`--amqp-port must be a port number 0-65535 (0 picks a free port) or 'off', got "70000"`));
    expect(() => resolveSettings([{ raw: { ports: { stompWs: 'x' } }, source: 'env' }], cwd)).toThrow(/^LOCALMQ_STOMP_WS_PORT must be/);
    expect(() => resolveSettings([{ raw: { freePorts: 'maybe' }, source: 'file' }], cwd)).toThrow(`config file setting 'freePorts' must be true or false, got "maybe"`);
  });

  it('--handshake-timeout / LOCALMQ_HANDSHAKE_TIMEOUT / handshakeTimeout: the handshake timeout in ms (issue 18)', () => {
    expect(brokerOptions(resolveSettings([{ raw: { handshakeTimeout: '2500' }, source: 'flag' }], cwd)).limits).toEqual({ handshakeTimeoutMs: 2500 });
    expect(settingsFromEnv({ LOCALMQ_HANDSHAKE_TIMEOUT: '3000' })).toEqual({ handshakeTimeout: '3000' });
    expect(resolveSettings([{ raw: { handshakeTimeout: 4000 }, source: 'file' }], cwd).handshakeTimeoutMs).toBe(4000);
    expect(brokerOptions(resolveSettings([], cwd))).not.toHaveProperty('limits');
    expect(() => resolveSettings([{ raw: { handshakeTimeout: '0' }, source: 'flag' }], cwd)).toThrow(`--handshake-timeout must be a whole number of milliseconds above 0, got "0"`);
  });

  it('--max-unacked-per-connection / LOCALMQ_MAX_UNACKED_PER_CONNECTION / maxUnackedPerConnection: the cap on a connection\'s unacked deliveries, 0 for none (issue 18)', () => {
    expect(brokerOptions(resolveSettings([{ raw: { maxUnackedPerConnection: '5000' }, source: 'flag' }], cwd)).limits).toEqual({ maxUnackedPerConnection: 5000 });
    expect(settingsFromEnv({ LOCALMQ_MAX_UNACKED_PER_CONNECTION: '0' })).toEqual({ maxUnackedPerConnection: '0' });
    expect(brokerOptions(resolveSettings([{ raw: { maxUnackedPerConnection: '0' }, source: 'env' }], cwd)).limits).toEqual({ maxUnackedPerConnection: 0 });
    expect(resolveSettings([{ raw: { maxUnackedPerConnection: 250000 }, source: 'file' }], cwd).maxUnackedPerConnection).toBe(250000);
    expect(() => resolveSettings([{ raw: { maxUnackedPerConnection: '-1' }, source: 'flag' }], cwd)).toThrow(`--max-unacked-per-connection must be a whole number of deliveries (0: no limit), got "-1"`);
  });

  it('reads LOCALMQ_* variables', () => {
    const raw = settingsFromEnv({ LOCALMQ_HOST: '0.0.0.0, ::', LOCALMQ_MQTT_WS_PORT: '9001', LOCALMQ_USERS: 'a:x b:y:management', LOCALMQ_IN_MEMORY: '1', OTHER: 'x' });
    expect(raw).toEqual({ host: ['0.0.0.0', '::'], ports: { mqttWs: '9001' }, users: ['a:x', 'b:y:management'], inMemory: '1' });
  });

  it('reads a config file, paths relative to it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-config-'));
    const file = join(dir, 'localmq.json');
    writeFileSync(file, JSON.stringify({ hosts: ['127.0.0.1'], dataDir: 'data', definitions: 'defs.json', users: [{ name: 'app', password: 'pw', tags: ['management'] }] }));
    const s = resolveSettings([{ raw: settingsFromFile(file), source: 'file' }], cwd);
    expect(s).toMatchObject({ hosts: ['127.0.0.1'], dataDir: join(dir, 'data'), definitions: join(dir, 'defs.json'), users: [{ name: 'app', password: 'pw', tags: ['management'] }] });
    writeFileSync(file, '{"ports": {"amqpp": 1}}');
    expect(() => settingsFromFile(file)).toThrow(/unknown listener 'ports.amqpp'/);
    writeFileSync(file, '[1]');
    expect(() => settingsFromFile(file)).toThrow(/must hold a JSON object/);
  });
});
