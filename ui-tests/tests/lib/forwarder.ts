/**
 * One person's network, as a minimal HTTP proxy whose link can be cut for
 * real: every connection through it is reset and new ones are refused
 * until it is restored.
 *
 * The person's browser context uses it as its proxy (Playwright's `proxy`
 * option; Playwright makes Chromium send loopback traffic through the proxy
 * too, `<-loopback>`). A plain TCP forwarder on another port is not enough:
 * the demo hub has a public URL, so the single-user server sends the OAuth
 * flow to the hub's own host and port, and the session would leave the
 * forwarder. Through a proxy the URLs stay the hub's, and everything the
 * page does (pages, API calls, websockets: CONNECT tunnels or upgraded
 * requests) goes through here; `requests` and `tunnels` show that it did.
 */
import * as http from 'http';
import * as net from 'net';

export class Forwarder {
  /** Plain requests forwarded since the start. */
  requests = 0;
  /** CONNECT tunnels and upgraded (websocket) connections since the start. */
  tunnels = 0;
  /** Connections reset or refused by cuts. */
  dropped = 0;

  get port(): number {
    const address = this._server?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** For Playwright's `proxy` option. */
  get server(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(): Promise<void> {
    const server = http.createServer((req, res) => this._request(req, res));
    server.on('connection', socket => this._accept(socket));
    server.on('connect', (req, socket, head) => this._connect(req, socket as net.Socket, head));
    server.on('upgrade', (req, socket, head) => this._upgrade(req, socket as net.Socket, head));
    server.keepAliveTimeout = 60_000;
    this._server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  /** Cut the network: reset every open connection, refuse new ones. */
  cut(): number {
    this._cut = true;
    const open = [...this._sockets];
    for (const socket of open) {
      this._reset(socket);
    }
    this._sockets.clear();
    this.dropped += open.length;
    return open.length;
  }

  restore(): void {
    this._cut = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>(resolve =>
      this._server ? this._server.close(() => resolve()) : resolve()
    );
  }

  private _track(socket: net.Socket): void {
    this._sockets.add(socket);
    socket.on('close', () => this._sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private _accept(socket: net.Socket): void {
    if (this._cut) {
      this.dropped += 1;
      this._reset(socket);
      return;
    }
    socket.setNoDelay(true);
    this._track(socket);
  }

  /** An absolute-form request (`GET http://host:port/path`): forwarded in origin form. */
  private _request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = new URL(req.url ?? '/', `http://${req.headers.host}`);
    this.requests += 1;
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const upstream = http.request({
      host: target.hostname,
      port: target.port || 80,
      method: req.method,
      path: `${target.pathname}${target.search}`,
      headers,
      agent: false
    });
    upstream.on('socket', socket => this._track(socket));
    upstream.on('response', answer => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  /** A CONNECT tunnel (how Chromium sends websockets through a proxy). */
  private _connect(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    const [host, port] = (req.url ?? '').split(':');
    this._pipe(client, Number(port), host, head, 'HTTP/1.1 200 Connection Established\r\n\r\n');
  }

  /** An upgrade sent in absolute form: replayed in origin form on a new connection. */
  private _upgrade(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    const target = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const lines = [`${req.method} ${target.pathname}${target.search} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i].toLowerCase() !== 'proxy-connection') {
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
    }
    const request = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), head]);
    this._pipe(client, Number(target.port || 80), target.hostname, request, null);
  }

  private _pipe(
    client: net.Socket,
    port: number,
    host: string,
    first: Buffer,
    reply: string | null
  ): void {
    this.tunnels += 1;
    const upstream = net.connect(port, host, () => {
      if (reply) {
        client.write(reply);
      }
      if (first.length) {
        upstream.write(first);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.setNoDelay(true);
    this._track(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  private _reset(socket: net.Socket): void {
    // A reset, as a dropped link looks to both ends once noticed.
    if (typeof socket.resetAndDestroy === 'function' && !socket.destroyed) {
      try {
        socket.resetAndDestroy();
        return;
      } catch {
        // not connected yet: plain destroy
      }
    }
    socket.destroy();
  }

  private _server: http.Server | null = null;
  private _cut = false;
  private _sockets = new Set<net.Socket>();
}
