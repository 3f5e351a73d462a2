/**
 * Figure 5: calls placed through Twilio's REST API and followed by its status callbacks, over
 * real HTTP both ways, against the fake Twilio API (test/fakes/twilio) at time scale 0. It
 * measures redial's own cost per carrier call: a create through the official twilio library, the
 * exchange kept with the attempt, four signed callbacks verified and written.
 */
import { join } from 'node:path';
import { startFakeTwilio } from '../test/fakes/twilio/server.js';
import { requestJson, type Client } from './http.js';
import { cpuSeconds } from './rss.js';
import { freePort, spawnRedial, type ServerProcess } from './server-process.js';
import { submitBody } from './workload.js';

const accountSid = 'AC' + 'b2'.repeat(16);
const authToken = 'bench-twilio-token';

export interface TwilioFigure {
  calls: number;
  ms: number;
  rate: number;
  completed: boolean;
  creates: number;
  callbacks: number;
  serverCpuSeconds: number | null;
}

export async function benchTwilio(options: { root: string; dir: string; apiKey: string; calls: number; concurrency: number; nodeArgs?: string[] }): Promise<TwilioFigure> {
  const fake = await startFakeTwilio({ accounts: [{ accountSid, authToken }], timeScale: 0 });
  let server: ServerProcess | null = null;
  try {
    const port = await freePort();
    server = await spawnRedial({
      root: options.root,
      role: 'serve',
      apiKey: options.apiKey,
      port,
      nodeArgs: options.nodeArgs,
      args: ['--data-dir', join(options.dir, 'twilio'), '--public-url', `http://127.0.0.1:${port}`, '--twilio-api-url', fake.url],
    });
    const client: Client = { url: server.url, apiKey: options.apiKey };
    const agent = await requestJson<{ agent_id: string }>(client, 'POST', '/v1/convai/agents/create', {
      name: 'bench twilio agent',
      conversation_config: {},
      handoff: { stream_url: 'wss://agent.example.test/media' },
    });
    const phone = await requestJson<{ phone_number_id: string }>(client, 'POST', '/v1/convai/phone-numbers', {
      provider: 'twilio',
      phone_number: '+14155550100',
      label: 'bench twilio caller',
      sid: accountSid,
      token: authToken,
      calls_per_second: 1000,
    });
    const body = submitBody({
      callName: 'bench twilio',
      agentId: agent.agent_id,
      phoneNumberId: phone.phone_number_id,
      recipients: options.calls,
      targetConcurrencyLimit: options.concurrency,
      scheduledTimeUnix: null,
    });
    const cpuBefore = cpuSeconds(server.pid);
    const started = performance.now();
    const batch = await requestJson<{ id: string }>(client, 'POST', '/v1/convai/batch-calling/submit', body, 120_000);
    let finished = 0;
    let status = '';
    const deadline = started + 300_000;
    while (performance.now() < deadline) {
      const page = await requestJson<{ batch_calls: { id: string; status: string; total_calls_finished: number }[] }>(client, 'GET', '/v1/convai/batch-calling/workspace?limit=1');
      const current = page.batch_calls.find((candidate) => candidate.id === batch.id);
      finished = current?.total_calls_finished ?? 0;
      status = current?.status ?? '';
      if (status === 'completed' || status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ms = performance.now() - started;
    const cpuAfter = cpuSeconds(server.pid);
    return {
      calls: finished,
      ms,
      rate: finished / (ms / 1000),
      completed: status === 'completed' && finished === options.calls,
      creates: fake.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/Calls.json')).length,
      callbacks: fake.callbacks.length,
      serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    };
  } finally {
    await server?.stop(10_000);
    await fake.close();
  }
}
