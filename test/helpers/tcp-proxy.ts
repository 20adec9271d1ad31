import net from 'node:net';

/** A TCP forwarder on 127.0.0.1 that a test closes to make a service vanish mid-command. */
export interface TcpProxy {
  port: number;
  endpoint: string;
  /** Bytes forwarded so far, both ways. */
  bytes(): number;
  /** Stops accepting and cuts every open connection: to the client the service is gone. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  /**
   * Kafka clients connect to the address the broker advertises in its metadata, not to the one
   * they were given. With this set, the proxy rewrites the broker's advertised port (the int32
   * after its host string, in every response frame) to its own, so all traffic stays on it.
   */
  kafka?: boolean;
}

export async function startTcpProxy(target: string, options: ProxyOptions = {}): Promise<TcpProxy> {
  const [host = '127.0.0.1', portText = ''] = target.split(':');
  const targetPort = Number(portText);
  const sockets = new Set<net.Socket>();
  let forwarded = 0;
  let rewrite: ((frame: Buffer) => Buffer) | null = null;

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (data: Buffer) => {
      forwarded += data.length;
      upstream.write(data);
    });
    if (!rewrite) {
      upstream.on('data', (data: Buffer) => {
        forwarded += data.length;
        client.write(data);
      });
      return;
    }
    // Kafka responses are frames: an int32 size, then that many bytes.
    const edit = rewrite;
    let pending = Buffer.alloc(0);
    upstream.on('data', (data: Buffer) => {
      forwarded += data.length;
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const end = 4 + pending.readInt32BE(0);
        client.write(edit(pending.subarray(0, end)));
        pending = pending.subarray(end);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;

  if (options.kafka) {
    // The broker entry of a Metadata response: int16 host length, host, int32 port.
    const entry = (p: number): Buffer => {
      const bytes = Buffer.alloc(2 + host.length + 4);
      bytes.writeInt16BE(host.length, 0);
      bytes.write(host, 2, 'latin1');
      bytes.writeInt32BE(p, 2 + host.length);
      return bytes;
    };
    const advertised = entry(targetPort);
    const ours = entry(port);
    rewrite = (frame) => {
      let at = frame.indexOf(advertised);
      if (at < 0) return frame;
      const copy = Buffer.from(frame);
      while (at >= 0) {
        ours.copy(copy, at);
        at = copy.indexOf(advertised, at + ours.length);
      }
      return copy;
    };
  }

  return {
    port,
    endpoint: `127.0.0.1:${port}`,
    bytes: () => forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
