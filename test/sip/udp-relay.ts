/**
 * A UDP relay between the user agent and a sipp trunk that drops the packets a test chooses.
 * sipp's own `-lost` cannot be used: it aborts the call when the INVITE or CANCEL it "lost"
 * comes back as a retransmission, which is exactly what a loss test wants to see.
 *
 * The user agent sends to the relay's address (`address`); the relay forwards from a second
 * socket, so sipp answers the relay, which passes the answer back to whoever last sent.
 */
import dgram from 'node:dgram';

export type RelayDirection = 'to_trunk' | 'from_trunk';

export interface DropRule {
  direction: RelayDirection;
  /** Matched against the whole packet as text. */
  match: RegExp;
  /** Which matching packet to drop, counting from 1 (default: the first). */
  nth?: number;
}

export interface RelayedPacket {
  direction: RelayDirection;
  firstLine: string;
  dropped: boolean;
  at: number;
}

export interface UdpRelay {
  /** `host:port` to give the user agent as the trunk address. */
  address: string;
  port: number;
  packets: RelayedPacket[];
  close(): Promise<void>;
}

export async function startUdpRelay(options: { host: string; target: { host: string; port: number }; drop: DropRule[] }): Promise<UdpRelay> {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  const packets: RelayedPacket[] = [];
  const seen = new Map<DropRule, number>();
  let client: { address: string; port: number } | null = null;

  const shouldDrop = (direction: RelayDirection, text: string): boolean => {
    for (const rule of options.drop) {
      if (rule.direction !== direction || !rule.match.test(text)) continue;
      const count = (seen.get(rule) ?? 0) + 1;
      seen.set(rule, count);
      if (count === (rule.nth ?? 1)) return true;
    }
    return false;
  };
  const relay = (direction: RelayDirection, data: Buffer, send: () => void) => {
    const text = data.toString('utf8');
    const dropped = shouldDrop(direction, text);
    packets.push({ direction, firstLine: text.split('\r\n')[0] ?? '', dropped, at: Date.now() });
    if (!dropped) send();
  };

  front.on('message', (data, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    relay('to_trunk', data, () => back.send(data, options.target.port, options.target.host));
  });
  back.on('message', (data) => {
    const to = client;
    if (to) relay('from_trunk', data, () => front.send(data, to.port, to.address));
  });
  await Promise.all([
    new Promise<void>((resolve) => front.bind(0, options.host, resolve)),
    new Promise<void>((resolve) => back.bind(0, options.host, resolve)),
  ]);
  const port = front.address().port;
  return {
    address: `${options.host}:${port}`,
    port,
    packets,
    close: async () => {
      await Promise.all([new Promise<void>((resolve) => front.close(() => resolve())), new Promise<void>((resolve) => back.close(() => resolve()))]);
    },
  };
}
