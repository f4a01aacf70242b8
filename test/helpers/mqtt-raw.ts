import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { expect } from 'vitest';

export /** a raw MQTT connection: write bytes, read packets, see when the broker closes it */
class Raw {
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  private readonly parser;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket, version: number) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => {
      this.packets.push(p);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('data', (c: Buffer) => this.parser.parse(c));
    socket.on('error', () => undefined);
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static open(port: number, version = 4): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port }, () => resolve(new Raw(s, version)));
      s.once('error', reject);
    });
  }

  /** open and CONNECT (as guest), resolving once CONNACK is in */
  static async connected(port: number, version: 4 | 5, clientId: string): Promise<Raw> {
    const r = await Raw.open(port, version);
    r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: true, keepalive: 60, username: 'guest', password: Buffer.from('guest') }, version);
    const connack = await r.next();
    expect(connack.cmd).toBe('connack');
    return r;
  }

  send(p: Packet, version = 4): void {
    this.socket.write(mqttPacket.generate(p, { protocolVersion: version }));
  }

  async next(): Promise<Packet> {
    while (this.packets.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.packets.shift()!;
  }
}
