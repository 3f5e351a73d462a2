import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { apiFetch, spawnServer, unusedPort, waitFor, type SpawnedServer } from '../helpers/server.js';
import type { WireBatch } from '../helpers/fixtures.js';

describe('SIGTERM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redial-sigterm-'));
  const children: SpawnedServer[] = [];
  after(() => {
    for (const child of children) child.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops leasing, lets live calls settle, exits 0, and leaves nothing for a successor to wait for', async () => {
    const args = ['--simulate', '--sim-time-scale', '0.01', '--drain-timeout-secs', '5', '--lease-ttl-secs', '30'];
    const server = await spawnServer({ dataDir: join(dir, 'data'), port: await unusedPort(), args });
    children.push(server);
    const api = (path: string, init?: RequestInit & { json?: unknown }) => apiFetch(server.url, server.apiKey, path, init);
    const agent = (await (await api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {} } })).json()) as { agent_id: string };
    const number = (await (
      await api('/v1/convai/phone-numbers', { method: 'POST', json: { provider: 'sip_trunk', phone_number: '+14155550100', label: 'x' } })
    ).json()) as { phone_number_id: string };
    const submitted = (await (
      await api('/v1/convai/batch-calling/submit', {
        method: 'POST',
        json: {
          call_name: 'drain',
          agent_id: agent.agent_id,
          agent_phone_number_id: number.phone_number_id,
          recipients: Array.from({ length: 100 }, (_, i) => ({ phone_number: `+1212555${3000 + i}` })),
          target_concurrency_limit: 10,
        },
      })
    ).json()) as WireBatch;
    const batchPath = `/v1/convai/batch-calling/${submitted.id}`;
    await waitFor(async () => ((await (await api(batchPath)).json()) as WireBatch).total_calls_dispatched >= 10, 10_000, 'calls to start');

    const stoppedAt = Date.now();
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.ok(Date.now() - stoppedAt < 10_000, 'exited within the drain timeout');

    // The successor starts with a 30 s lease TTL: it can only finish quickly because the
    // stopped process gave its leases back.
    const successor = await spawnServer({ dataDir: join(dir, 'data'), port: await unusedPort(), args });
    children.push(successor);
    const next = (path: string) => apiFetch(successor.url, successor.apiKey, path);
    await waitFor(async () => ((await (await next(batchPath)).json()) as WireBatch).status === 'completed', 25_000, 'the successor to finish');
    const final = (await (await next(batchPath)).json()) as WireBatch;
    assert.equal(final.total_calls_finished, final.total_calls_dispatched);
    assert.ok(final.recipients!.every((recipient) => recipient.attempts === 1));
    successor.child.kill('SIGTERM');
    assert.equal(await successor.exited, 0);
  });
});
