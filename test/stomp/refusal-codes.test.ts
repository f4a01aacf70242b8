// The dialects decide by a refusal's code, not by RabbitMQ's wording of it (closing-s18 item 6): a refusal worded
// otherwise keeps its ActiveMQ text and its close. Fails on the old code, which matched StompError.message.
import { describe, expect, it } from 'vitest';
import { StompCodecError } from '../../src/protocols/stomp/codec/index.js';
import { amqErrorText, amqVersionedRefusal, closesConnection } from '../../src/protocols/stomp/activemq/errors.js';
import { badCommand, StompError, toStompError } from '../../src/protocols/stomp/errors.js';

const reworded = (code: StompError['code'], command?: string) => new StompError('worded otherwise', 'detail worded otherwise\n', [], command, code);

describe('STOMP refusals by code', () => {
  it('the ActiveMQ texts come from the code and the refused frame\'s command', () => {
    expect(amqErrorText(badCommand('FOO'))).toBe('Unknown STOMP action: FOO');
    expect(amqErrorText(reworded('bad-command', 'FOO'))).toBe('Unknown STOMP action: FOO');
    expect(amqErrorText(reworded('missing-destination', 'SUBSCRIBE'))).toBe('SUBSCRIBE received without a Destination specified!');
    expect(amqErrorText(reworded('missing-transaction', 'BEGIN'))).toBe('Must specify the transaction you are beginning');
    expect(amqErrorText(reworded('version-mismatch'))).toBe('Invalid Protocol version, supported versions are: [1.2, 1.1, 1.0]');
    // what no dialect treats apart keeps its detail
    expect(amqErrorText(reworded('other'))).toBe('detail worded otherwise');
  });

  it('ActiveMQ closes on a command it does not know or a frame before CONNECT, whatever the words', () => {
    expect(closesConnection(reworded('bad-command', 'SEND'), 'SEND')).toBe(true);
    expect(closesConnection(reworded('not-connected', 'SEND'), 'SEND')).toBe(true);
    expect(closesConnection(reworded('missing-destination', 'SEND'), 'SEND')).toBe(false);
  });

  it('a refused content-length is worded by its value (5.19.8 server mode), not by the explanation\'s text', () => {
    const refused = (value: string) => toStompError(new StompCodecError('invalid-content-length', 'Invalid content-length', 'worded otherwise', value));
    expect(amqVersionedRefusal(refused(' -5 '), true)?.text).toBe('Specified content-length may not be negative');
    expect(amqVersionedRefusal(refused('abc'), true)?.text).toBe('Specified content-length is not a valid integer');
    expect(amqVersionedRefusal(refused('-5'), false)).toBeUndefined();
    expect(amqVersionedRefusal(reworded('not-connected', 'SEND'), false)).toEqual({ text: 'Not connected.', closes: false, receipt: true });
  });
});
