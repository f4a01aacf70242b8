import net from 'node:net';

/** Does something accept a TCP connection at host:port? Resolves with the error code when not. */
export function probeTcp(host: string, port: number, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string | null) => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done('ETIMEDOUT'));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** where to probe a listener bound to `hosts`: its first address (a wildcard means loopback) */
export function probeHost(hosts: string[]): string {
  const first = hosts[0] ?? '127.0.0.1';
  if (first === '0.0.0.0') return '127.0.0.1';
  if (first === '::') return '::1';
  return first;
}
