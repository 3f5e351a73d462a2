/**
 * A fake agent SDP endpoint (`agent.handoff.sdp_url`, protocol in
 * `src/telephony/whatsapp/agent-media.ts`): answers `offer` with a canned WebRTC offer, accepts
 * `answer` and `terminate`, and records every request. It holds no media.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const cannedOfferSdp = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE audio',
  'a=msid-semantic: WMS agent',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:agnt',
  'a=ice-pwd:agentagentagentagentagent',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99',
  'a=setup:actpass',
  'a=mid:audio',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:126 telephone-event/8000',
  '',
].join('\r\n');

export interface FakeAgentRequest {
  action: string;
  call: Record<string, unknown>;
  body: Record<string, unknown>;
}

export interface FakeAgent {
  /** The `sdp_url` to give the agent. */
  url: string;
  readonly requests: FakeAgentRequest[];
  /** Answers every later `offer` with this HTTP status and no SDP (null: answer normally again). */
  failOffers(status: number | null): void;
  close(): Promise<void>;
}

export async function startFakeAgent(): Promise<FakeAgent> {
  const requests: FakeAgentRequest[] = [];
  let offerStatus: number | null = null;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const action = typeof body.action === 'string' ? body.action : '';
      requests.push({ action, call: (body.call ?? {}) as Record<string, unknown>, body });
      if (action === 'offer' && offerStatus !== null) {
        res.writeHead(offerStatus, { 'content-type': 'application/json' }).end('{"error":"no media"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(action === 'offer' ? JSON.stringify({ sdp: cannedOfferSdp }) : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sdp`,
    requests,
    failOffers: (status) => {
      offerStatus = status;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
