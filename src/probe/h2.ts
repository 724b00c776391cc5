import { Client, Pool, type Dispatcher } from 'undici';

/**
 * Many probes over one HTTP/2 connection per origin.
 *
 * undici negotiates h2 by ALPN when `allowH2` is set, but a Client keeps its `pipelining` (default 1)
 * for h2 too, so an h2 connection carries one request at a time and the Pool opens a new TLS
 * connection for every concurrent probe (measured: 20 concurrent HEADs, 20 connections). This Agent
 * `factory` builds the usual Pool whose Clients raise `pipelining` once their connection turned out
 * to be h2, and keep 1 on HTTP/1.1 (where pipelining would queue probes behind each other).
 * Requests that arrive while the first connection of an origin is still being set up each open one
 * of their own; the prober's `/v2/` ping goes first, so a registry's manifest requests find it ready.
 */
export const H2_STREAMS = 100;

type Connector = (options: object, callback: (err: Error | null, socket: { alpnProtocol?: string | false } | null) => void) => void;

export function h2Multiplexing(): { factory: (origin: string | URL, opts: object) => Dispatcher } {
  return {
    factory: (origin, opts) =>
      new Pool(origin, {
        ...(opts as Pool.Options),
        factory: (o: string | URL, clientOpts: object) => {
          const base = (clientOpts as { connect: Connector }).connect;
          const client: Client = new Client(o, {
            ...(clientOpts as Client.Options),
            connect: ((connectOpts: object, callback: Parameters<Connector>[1]) =>
              base(connectOpts, (err, socket) => {
                if (!err && socket) client.pipelining = socket.alpnProtocol === 'h2' ? H2_STREAMS : 1;
                callback(err, socket);
              })) as unknown as Client.Options['connect'],
          });
          return client;
        },
      }),
  };
}
