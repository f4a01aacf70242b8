import type { Socket } from 'node:net';
import tls from 'node:tls';
import { peerOf } from '../../protocols/context.js';
import type { Logger } from '../logger.js';
import type { TlsMaterial } from './certificates.js';

/** a client that opens a TLS port and never finishes the handshake is dropped */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * TLS for any listener: accepts plain TCP sockets and hands on the TLS socket once the
 * handshake is done. The certificate may still be generating when a listener starts (so
 * startBroker stays fast); sockets accepted meanwhile wait for it. A client that is not
 * speaking TLS fails its own handshake and the listener carries on.
 */
export class TlsTerminator {
  private context: tls.SecureContext | undefined;
  private readonly ready: Promise<tls.SecureContext>;

  constructor(
    material: Promise<TlsMaterial>,
    private readonly logger: Logger,
  ) {
    this.ready = material.then((m) => {
      this.context = tls.createSecureContext({ key: m.key, cert: m.cert, minVersion: 'TLSv1.2' });
      return this.context;
    });
    // a failure shows when a client connects; keep it from being an unhandled rejection
    this.ready.catch((err) => logger.error('TLS certificate unavailable', { err }));
  }

  /** wrap `socket`; `onSecure` gets the TLS socket after a successful handshake */
  accept(socket: Socket, onSecure: (s: tls.TLSSocket) => void): void {
    if (this.context) this.wrap(socket, this.context, onSecure);
    else {
      socket.pause();
      this.ready.then(
        (ctx) => {
          if (!socket.destroyed) this.wrap(socket, ctx, onSecure);
        },
        () => socket.destroy(),
      );
    }
  }

  private wrap(socket: Socket, secureContext: tls.SecureContext, onSecure: (s: tls.TLSSocket) => void): void {
    const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext });
    const peer = peerOf(socket);
    const local = socket.localPort;
    const timer = setTimeout(() => {
      this.logger.info('TLS handshake timed out: connection closed', { peer, port: local });
      tlsSocket.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    const onError = (err: Error & { code?: string }) => {
      clearTimeout(timer);
      // a refusal at info, as RabbitMQ logs it: most often a plaintext client on a TLS port
      const plaintext = err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || err.code === 'ERR_SSL_HTTP_REQUEST' || /wrong version number|http request/i.test(err.message);
      this.logger.info(plaintext ? 'TLS handshake failed: the client does not speak TLS (a plaintext client on a TLS port?)' : 'TLS handshake failed', {
        peer,
        port: local,
        reason: err.code ?? err.message,
      });
      tlsSocket.destroy();
    };
    tlsSocket.once('error', onError);
    tlsSocket.once('secure', () => {
      clearTimeout(timer);
      tlsSocket.off('error', onError);
      onSecure(tlsSocket);
    });
    socket.resume();
  }
}

