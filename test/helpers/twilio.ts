/** A redial server wired to the fake Twilio REST API, and the official SDK pointed at it. */
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { startFakeTwilio, type FakeTwilio } from '../fakes/twilio/server.js';
import type { Config } from '../../src/config.js';
import { startTestServer, unusedPort, type TestServer } from './server.js';

export const fakeAccountSid = 'AC' + 'a1'.repeat(16);
export const fakeAuthToken = 'fake-auth-token-0123456789';

export async function startTwilioStack(options: { carrierTimeoutSecs?: number; timeScale?: number; dataDir?: string; config?: Partial<Config> } = {}): Promise<{ fake: FakeTwilio; server: TestServer; client: ElevenLabsClient }> {
  const fake = await startFakeTwilio({ accounts: [{ accountSid: fakeAccountSid, authToken: fakeAuthToken }], timeScale: options.timeScale ?? 0.002 });
  const port = await unusedPort();
  const server = await startTestServer({
    simulate: false,
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    twilioApiUrl: fake.url,
    carrierTimeoutSecs: options.carrierTimeoutSecs ?? 5,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...options.config,
  });
  const client = new ElevenLabsClient({ apiKey: server.apiKey, baseUrl: server.url, maxRetries: 0 });
  return { fake, server, client };
}

export async function twilioAgentAndNumber(client: ElevenLabsClient, callsPerSecond = 200): Promise<{ agentId: string; phoneNumberId: string }> {
  const { agentId } = await client.conversationalAi.agents.create(
    { conversationConfig: {}, name: 'Twilio agent' },
    { additionalBodyParameters: { handoff: { stream_url: 'wss://agent.example.test/media' } } },
  );
  const created = await client.conversationalAi.phoneNumbers.create(
    { provider: 'twilio', phoneNumber: '+14155550100', label: 'caller', sid: fakeAccountSid, token: fakeAuthToken },
    { additionalBodyParameters: { calls_per_second: callsPerSecond } },
  );
  return { agentId, phoneNumberId: created.phoneNumberId };
}

