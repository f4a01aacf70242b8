import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { brokerOptions, resolveSettings, settingsFromEnv, settingsFromFile } from '../../src/cli/config.js';
import { useBroker } from '../helpers/broker.js';
import { mqttPort } from '../helpers/mqtt.js';
import { Raw } from '../helpers/mqtt-raw.js';

/**
 * Mosquitto's max_keepalive as `mqtt.maxKeepAlive` (eclipse/paho.mqtt.testing client_test5.py
 * test_server_keep_alive runs against a broker capping keep-alive at 60 s). Mosquitto 2.0.11
 * with max_keepalive 60, asked on loopback: an MQTT 5 CONNECT with keep-alive 120 or 0 gets
 * CONNACK Server Keep Alive 60, one with 30 none; an idle 3.1.1 client that asked for 120 s
 * was closed after 183.6 s (its own 1.5 x 120 s, not the cap's 90 s): 3.1.1 cannot be told.
 */
const broker = useBroker({ mqtt: { maxKeepAlive: 1 } });

async function connectRaw(version: 4 | 5, clientId: string, keepalive: number): Promise<{ raw: Raw; connack: IConnackPacket }> {
  const raw = await Raw.open(mqttPort(broker()), version);
  raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: true, keepalive, username: 'guest', password: Buffer.from('guest') }, version);
  const connack = (await raw.next()) as IConnackPacket;
  expect(connack.cmd).toBe('connack');
  return { raw, connack };
}

describe('MQTT: the longest keep-alive allowed (Mosquitto max_keepalive)', () => {
  it('MQTT 5 is told the cap (Server Keep Alive) and held to it; a 3.1.1 client keeps the keep-alive it asked for', async () => {
    // the 3.1.1 client first: capped as well (the old behaviour), its timer would run out first
    const v4 = await connectRaw(4, 'ka-v4', 30);
    const asked = await connectRaw(5, 'ka-v5-30', 30);
    const none = await connectRaw(5, 'ka-v5-0', 0);
    expect(asked.connack.properties?.serverKeepAlive).toBe(1);
    expect(none.connack.properties?.serverKeepAlive).toBe(1);
    // 1.5 x the cap without a packet: DISCONNECT 0x8D keep alive timeout, then the close
    const disconnect = (await none.raw.next()) as IDisconnectPacket;
    expect(disconnect).toMatchObject({ cmd: 'disconnect', reasonCode: 0x8d });
    await none.raw.closed;
    // the 3.1.1 client, as idle as the MQTT 5 one for as long, still answers
    v4.raw.send({ cmd: 'pingreq' });
    const answer = await Promise.race([v4.raw.next().then((p) => p.cmd), v4.raw.closed.then(() => 'closed by the broker')]);
    expect(answer).toBe('pingresp');
    v4.raw.send({ cmd: 'disconnect' });
    await v4.raw.closed;
    asked.raw.socket.destroy();
  });

  it('--mqtt-max-keep-alive, LOCALMQ_MQTT_MAX_KEEP_ALIVE and the config file key mqtt.maxKeepAlive set it (1-65535 s)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-keepalive-'));
    const file = join(dir, 'localmq.json');
    writeFileSync(file, JSON.stringify({ mqtt: { maxKeepAlive: 60, allowAnonymous: false } }));
    const fromFile = resolveSettings([{ raw: settingsFromFile(file), source: 'file' }], dir);
    expect(brokerOptions(fromFile).mqtt).toEqual({ allowAnonymous: false, maxKeepAlive: 60 });
    const fromEnv = resolveSettings([{ raw: settingsFromEnv({ LOCALMQ_MQTT_MAX_KEEP_ALIVE: '300' }), source: 'env' }, { raw: settingsFromFile(file), source: 'file' }], dir);
    expect(brokerOptions(fromEnv).mqtt).toEqual({ allowAnonymous: false, maxKeepAlive: 300 });
    const fromFlag = resolveSettings([{ raw: { mqttMaxKeepAlive: '90' }, source: 'flag' }], dir);
    expect(brokerOptions(fromFlag).mqtt).toEqual({ maxKeepAlive: 90 });
    expect(() => resolveSettings([{ raw: { mqttMaxKeepAlive: '65536' }, source: 'flag' }], dir)).toThrow('--mqtt-max-keep-alive must be at most 65535 seconds');
    expect(() => resolveSettings([{ raw: { mqttMaxKeepAlive: '0' }, source: 'flag' }], dir)).toThrow('--mqtt-max-keep-alive must be a whole number of seconds above 0');
    writeFileSync(file, JSON.stringify({ mqtt: { maxKeepAlive: 'soon' } }));
    expect(() => resolveSettings([{ raw: settingsFromFile(file), source: 'file' }], dir)).toThrow("config file setting 'mqtt.maxKeepAlive' must be a whole number of seconds above 0");
    writeFileSync(file, JSON.stringify({ mqtt: { maxKeepalive: 60 } }));
    expect(() => settingsFromFile(file)).toThrow("unknown setting 'mqtt.maxKeepalive' (known: mqtt.allowAnonymous, mqtt.maxKeepAlive)");
  });
});
