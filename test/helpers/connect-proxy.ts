// A real forward proxy on 127.0.0.1 for HTTPS: it answers CONNECT host:port by opening a TCP
// connection there and splicing the two sockets (RFC 9110 §9.3.6), demanding Proxy-Authorization
// when given credentials (407 otherwise). It records each CONNECT so tests see the proxy was used.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectProxy {
  url: string;
  connects: { target: string; authorization: string | null; status: number }[];
  close(): Promise<void>;
}

export async function startConnectProxy(credentials?: string): Promise<ConnectProxy> {
  const connects: ConnectProxy['connects'] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    const target = req.url ?? '';
    const auth = req.headers['proxy-authorization'] ?? null;
    const want = credentials ? `Basic ${Buffer.from(credentials).toString('base64')}` : null;
    if (want && auth !== want) {
      connects.push({ target, authorization: auth, status: 407 });
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="kdbg"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    if (host !== '127.0.0.1' && host !== 'localhost') {
      connects.push({ target, authorization: auth, status: 403 });
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    connects.push({ target, authorization: auth, status: 200 });
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    const done = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', done);
    client.on('error', done);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
