/**
 * UDP and TCP for SIP (RFC 3261 §18), on one port: the UDP socket and the TCP listener share the
 * bound port number, so the Contact we advertise works whichever transport the far end uses.
 *
 * Requests that arrive are answered the way they came: over UDP to the source address and port
 * (RFC 3581 rport behaviour, which also gets through NATs), over TCP on the same connection.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { parseMessage, serializeMessage, SipStreamParser, type SipMessage } from './message.js';

export type TransportName = 'udp' | 'tcp';

export interface Endpoint {
  transport: TransportName;
  host: string;
  port: number;
}

export interface IncomingMessage {
  message: SipMessage;
  source: Endpoint;
  /** Sends a response back the way the request came. */
  respond(message: SipMessage): Promise<void>;
}

export interface SipTransport {
  /** Where the sockets are bound (the real port when 0 was asked for). */
  readonly address: { host: string; port: number };
  send(message: SipMessage, to: Endpoint): Promise<void>;
  /** The host and port to put in Via and Contact for messages to `to`. */
  sentBy(to: Endpoint): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export interface OpenTransportOptions {
  host: string;
  port: number;
  logger: Logger;
  onMessage(incoming: IncomingMessage): void;
}

interface Connection {
  socket: net.Socket;
  ready: Promise<void>;
}

export async function openTransport(options: OpenTransportOptions): Promise<SipTransport> {
  // With port 0 the UDP socket picks a port that TCP may find taken; try a few.
  const attempts = options.port === 0 ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    const transport = new NodeSipTransport(options);
    try {
      await transport.bind();
      return transport;
    } catch (error) {
      await transport.close();
      if (attempt >= attempts || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

class NodeSipTransport implements SipTransport {
  readonly #o: OpenTransportOptions;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #connections = new Map<string, Connection>();
  readonly #sentBy = new Map<string, Promise<{ host: string; port: number }>>();
  #address: { host: string; port: number } | null = null;
  #closed = false;

  constructor(options: OpenTransportOptions) {
    this.#o = options;
    this.#udp = dgram.createSocket({ type: net.isIPv6(options.host) ? 'udp6' : 'udp4' });
    this.#udp.on('message', (data, rinfo) => this.#receive(data, { transport: 'udp', host: rinfo.address, port: rinfo.port }));
    this.#udp.on('error', (error) => this.#o.logger.error({ err: error }, 'sip:transport:udp_error'));
    this.#tcp = net.createServer((socket) => this.#adopt(socket));
    this.#tcp.on('error', (error) => this.#o.logger.error({ err: error }, 'sip:transport:tcp_error'));
  }

  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error('SIP transport is not bound yet');
    return this.#address;
  }

  async bind(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#udp.once('error', reject);
      this.#udp.bind(this.#o.port, this.#o.host, () => {
        this.#udp.off('error', reject);
        resolve();
      });
    });
    const port = this.#udp.address().port;
    await new Promise<void>((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, this.#o.host, () => {
        this.#tcp.off('error', reject);
        resolve();
      });
    });
    this.#address = { host: this.#o.host, port };
  }

  async send(message: SipMessage, to: Endpoint): Promise<void> {
    if (this.#closed) throw new Error('SIP transport is closed');
    const data = serializeMessage(message);
    const host = await this.#resolve(to.host);
    if (to.transport === 'udp') {
      await new Promise<void>((resolve, reject) => this.#udp.send(data, to.port, host, (error) => (error ? reject(error) : resolve())));
    } else {
      const connection = this.#connect(host, to.port);
      await connection.ready;
      await new Promise<void>((resolve, reject) => connection.socket.write(data, (error) => (error ? reject(error) : resolve())));
    }
    this.#trace('sent', message, to);
  }

  async sentBy(to: Endpoint): Promise<{ host: string; port: number }> {
    const port = this.address.port;
    if (!isWildcard(this.#o.host)) return { host: this.#o.host, port };
    // Bound to every interface: advertise the address the kernel would send from towards the
    // far end, found by connecting a throwaway UDP socket (no packet is sent).
    const host = await this.#resolve(to.host);
    let found = this.#sentBy.get(host);
    if (!found) {
      found = probeLocalAddress(host, to.port, net.isIPv6(host) ? 'udp6' : 'udp4').then((local) => ({ host: local, port }));
      this.#sentBy.set(host, found);
      found.catch(() => this.#sentBy.delete(host));
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const connection of this.#connections.values()) connection.socket.destroy();
    this.#connections.clear();
    await Promise.all([
      new Promise<void>((resolve) => {
        try {
          this.#udp.close(() => resolve());
        } catch {
          resolve();
        }
      }),
      new Promise<void>((resolve) => (this.#tcp.listening ? this.#tcp.close(() => resolve()) : resolve())),
    ]);
  }

  #connect(host: string, port: number): Connection {
    const key = endpointKey(host, port);
    const existing = this.#connections.get(key);
    if (existing && !existing.socket.destroyed) return existing;
    const socket = net.connect({ host, port, ...(isWildcard(this.#o.host) ? {} : { localAddress: this.#o.host }) });
    const ready = new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    // Whoever awaits `ready` sees the error; this keeps it from surfacing as unhandled.
    ready.catch(() => undefined);
    const connection = { socket, ready };
    this.#track(key, connection);
    return connection;
  }

  #adopt(socket: net.Socket): void {
    const key = endpointKey(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    this.#track(key, { socket, ready: Promise.resolve() });
  }

  #track(key: string, connection: Connection): void {
    const { socket } = connection;
    this.#connections.set(key, connection);
    const parser = new SipStreamParser();
    socket.on('data', (chunk) => {
      const source: Endpoint = { transport: 'tcp', host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
      try {
        for (const message of parser.push(chunk)) this.#deliver(message, source);
      } catch (error) {
        // A stream that lost its framing cannot recover: drop the connection.
        this.#o.logger.warn({ err: error, remote: key }, 'sip:transport:tcp_framing_lost');
        socket.destroy();
      }
    });
    socket.on('error', (error) => this.#o.logger.debug({ err: error, remote: key }, 'sip:transport:tcp_connection_error'));
    socket.on('close', () => {
      if (this.#connections.get(key) === connection) this.#connections.delete(key);
    });
  }

  #receive(data: Buffer, source: Endpoint): void {
    let message: SipMessage;
    try {
      message = parseMessage(data);
    } catch (error) {
      // Garbage and keep-alives on a public SIP port are routine; they do not deserve a warning.
      this.#o.logger.debug({ err: error, source }, 'sip:transport:unparseable');
      return;
    }
    this.#deliver(message, source);
  }

  #deliver(message: SipMessage, source: Endpoint): void {
    this.#trace('received', message, source);
    const respond = (response: SipMessage) => this.send(response, source);
    try {
      this.#o.onMessage({ message, source, respond });
    } catch (error) {
      this.#o.logger.error({ err: error, source }, 'sip:transport:handler_failed');
    }
  }

  async #resolve(host: string): Promise<string> {
    if (net.isIP(host)) return host;
    // No SRV/NAPTR (RFC 3263): trunks are configured as host[:port], and A/AAAA is what they publish.
    const { address } = await lookup(host, { family: net.isIPv6(this.#o.host) ? 6 : 4 });
    return address;
  }

  #trace(direction: 'sent' | 'received', message: SipMessage, peer: Endpoint): void {
    if (!this.#o.logger.isLevelEnabled('debug')) return;
    const first = message.kind === 'request' ? `${message.method} ${message.uri}` : `${message.status} ${message.reason}`;
    const callId = message.headers.find((header) => header.name.toLowerCase() === 'call-id')?.value;
    this.#o.logger.debug({ peer: `${peer.transport}:${peer.host}:${peer.port}`, callId, message: first }, `sip:message:${direction}`);
  }
}

function endpointKey(host: string, port: number): string {
  return `${host}|${port}`;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

async function probeLocalAddress(host: string, port: number, type: 'udp4' | 'udp6'): Promise<string> {
  const socket = dgram.createSocket(type);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}
