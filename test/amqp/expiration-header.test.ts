import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { channelClosed, connect } from '../helpers/amqp.js';
import { getHeader, RawStomp } from '../helpers/stomp.js';

/**
 * A published message's `expiration` property is checked as RabbitMQ checks it
 * (rabbit_channel check_expiration_header): the texts below are what RabbitMQ 3.10.8 answered
 * (Debian's rabbitmq-server, amqplib and raw STOMP 1.2, session 16); the 3.13 and 4.x sources
 * have the same check and the same ten-year bound.
 */
const broker = useBroker({ engine: 'rabbitmq', ports: { amqp: 0, stomp: 0 } });

let conn: ChannelModel;
beforeAll(async () => {
  conn = await connect(broker());
  const ch = await conn.createChannel();
  await ch.assertQueue('exp.q');
  await ch.close();
});
afterAll(async () => {
  await conn.close();
});

/** publish to exp.q with this expiration: the channel's close text, or 'queued' */
async function publishWith(expiration: string, exchange = ''): Promise<string> {
  const ch = await conn.createChannel();
  const closed = channelClosed(ch).then((e) => `${e.code} ${/with message "(.*)"$/s.exec(e.message)?.[1] ?? e.message}`);
  ch.publish(exchange, 'exp.q', Buffer.from('x'), { expiration });
  const outcome = await Promise.race([closed, ch.checkQueue('exp.q').then(() => 'queued')]);
  if (outcome === 'queued') {
    await ch.purgeQueue('exp.q');
    await ch.close();
  }
  return outcome;
}

describe('AMQP 0-9-1 publish with an expiration RabbitMQ refuses: 406 and its text (RabbitMQ 3.10.8)', () => {
  const refused: [string, string][] = [
    ['-1', "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"],
    ['abc', "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"],
    ['', "PRECONDITION_FAILED - invalid expiration '': no_integer"],
    [' 5', "PRECONDITION_FAILED - invalid expiration ' 5': no_integer"],
    ['1.5', `PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,".5"}`],
    ['5 ', `PRECONDITION_FAILED - invalid expiration '5 ': {leftover_string," "}`],
    ['1e3', `PRECONDITION_FAILED - invalid expiration '1e3': {leftover_string,"e3"}`],
    ['0x10', `PRECONDITION_FAILED - invalid expiration '0x10': {leftover_string,"x10"}`],
    ['5é', `PRECONDITION_FAILED - invalid expiration '5é': {leftover_string,"é"}`],
    ['5\x01', "PRECONDITION_FAILED - invalid expiration '5\x01': {leftover_string,[1]}"],
    ['5"\\', `PRECONDITION_FAILED - invalid expiration '5"\\': {leftover_string,"\\"\\\\"}`],
    ['315360000001', "PRECONDITION_FAILED - invalid expiration '315360000001': {value_too_large,315360000001}"],
    ['8640000000000000', "PRECONDITION_FAILED - invalid expiration '8640000000000000': {value_too_large,8640000000000000}"],
    ['-999999999999999999', "PRECONDITION_FAILED - invalid expiration '-999999999999999999': {value_negative,-999999999999999999}"],
    // Erlang's pretty printer breaks what does not fit on its 80-column line
    ['-9999999999999999999', `PRECONDITION_FAILED - invalid expiration '-9999999999999999999': {value_negative,\n${' '.repeat(44)}-9999999999999999999}`],
    ['9223372036854775807', `PRECONDITION_FAILED - invalid expiration '9223372036854775807': {value_too_large,\n${' '.repeat(43)}9223372036854775807}`],
    [
      `1${'x'.repeat(30)}`,
      `PRECONDITION_FAILED - invalid expiration '1${'x'.repeat(30)}': {leftover_string,\n${' '.repeat(55)}"${'x'.repeat(30)}"}`,
    ],
  ];
  for (const [expiration, text] of refused) {
    it(`${JSON.stringify(expiration)}: 406`, async () => {
      expect(await publishWith(expiration)).toBe(`406 ${text}`);
    });
  }

  it('a text longer than 255 bytes is cut to 252 and "..." (rabbit_binary_generator)', async () => {
    const expiration = `1${'x'.repeat(60)}`;
    const head = `PRECONDITION_FAILED - invalid expiration '${expiration}': {leftover_string,\n${' '.repeat(85)}"`;
    expect(await publishWith(expiration)).toBe(`406 ${head}${'x'.repeat(252 - head.length)}...`);
  });

  for (const expiration of ['0', '+5', '-0', '007', '4294967296', '315360000000']) {
    it(`${JSON.stringify(expiration)} is taken`, async () => {
      expect(await publishWith(expiration)).toBe('queued');
    });
  }

  it('a missing exchange is refused first (404), as RabbitMQ looks the exchange up before the properties', async () => {
    expect(await publishWith('-1', 'no.such.x')).toBe("404 NOT_FOUND - no exchange 'no.such.x' in vhost '/'");
  });
});

describe('STOMP SEND with such an expiration header (RabbitMQ 3.10.8: the channel refuses it)', () => {
  it('ERROR precondition_failed with the channel text, then the connection closes (a later SEND gets no receipt)', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/stomp.exp', expiration: '-1' }, 'x');
    client.send('SEND', { destination: '/queue/stomp.exp', receipt: 'r2' }, 'y');
    const error = await client.frame('ERROR');
    expect(getHeader(error, 'message')).toBe('precondition_failed');
    expect(error.body.toString()).toBe("PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}");
    await client.whenClosed();
    expect(client.frames).toEqual([]);
  });

  it('a good one is taken', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/stomp.exp', expiration: '60000', receipt: 'r1' }, 'x');
    await client.receipt('r1');
    client.close();
  });
});
