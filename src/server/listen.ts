import net from 'node:net';

export interface Listener {
  readonly port: number;
  readonly hosts: string[];
  close(): Promise<void>;
}

/**
 * Listen on every host at one port. With port 0 the first host picks a free port and the
 * others take the same one, so `localhost` works whether it resolves to 127.0.0.1 or ::1.
 * A host the machine lacks (no IPv6) is skipped; a port in use is an error.
 */
export async function listenOnHosts(
  hosts: string[],
  port: number,
  onConnection: (socket: net.Socket) => void,
  createServer: (handler: (s: net.Socket) => void) => net.Server = (h) => net.createServer(h),
): Promise<Listener> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const servers: net.Server[] = [];
    const bound: string[] = [];
    let chosen = port;
    try {
      for (const host of hosts) {
        const server = createServer(onConnection);
        try {
          await listen(server, host, chosen);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // no such address on this machine (e.g. IPv6 disabled): the other hosts still serve
          if ((code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') && hosts.length > 1) {
            continue;
          }
          throw err;
        }
        servers.push(server);
        bound.push(host);
        if (chosen === 0) chosen = (server.address() as net.AddressInfo).port;
      }
      if (servers.length === 0) throw new Error(`could not listen on any of ${hosts.join(', ')}`);
      return {
        port: chosen,
        hosts: bound,
        close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
      };
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      // the free port picked on one host was taken on another: pick again
      if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
  }
  throw new Error(`could not find a free port on ${hosts.join(', ')}`);
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
