import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { apiFetch, readDialLog, spawnServer, unusedPort, waitFor, type SpawnedServer } from '../helpers/server.js';
import type { WireBatch } from '../helpers/fixtures.js';

const terminal = new Set(['completed', 'failed', 'voicemail']);

describe('a server killed mid-batch and started again on the same data dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redial-restart-'));
  const dialLog = join(dir, 'dials.jsonl');
  const children: SpawnedServer[] = [];
  after(() => {
    for (const child of children) child.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const server = await spawnServer({
      dataDir: join(dir, 'data'),
      port: await unusedPort(),
      args: ['--simulate', '--sim-time-scale', '0.01', '--sim-dial-log', dialLog, '--lease-ttl-secs', '1', '--poll-interval-ms', '50'],
    });
    children.push(server);
    return server;
  };

  it('finishes the batch with no recipient lost and no attempt dialed twice', async () => {
    let server = await start();
    const api = (path: string, init?: RequestInit & { json?: unknown }) => apiFetch(server.url, server.apiKey, path, init);
    const agent = (await (await api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {}, name: 'a' } })).json()) as {
      agent_id: string;
    };
    const number = (await (
      await api('/v1/convai/phone-numbers', { method: 'POST', json: { provider: 'twilio', phone_number: '+14155550100', label: 'x', sid: 'AC00000000000000000000000000000001', token: 't' } })
    ).json()) as { phone_number_id: string };
    const recipients = Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, phone_number: `+1212555${String(2000 + i)}` }));
    const submitted = (await (
      await api('/v1/convai/batch-calling/submit', {
        method: 'POST',
        json: { call_name: 'restart', agent_id: agent.agent_id, agent_phone_number_id: number.phone_number_id, recipients, target_concurrency_limit: 30 },
      })
    ).json()) as WireBatch;
    const batchPath = `/v1/convai/batch-calling/${submitted.id}`;

    await waitFor(async () => ((await (await api(batchPath)).json()) as WireBatch).total_calls_finished >= 60, 20_000, 'a fifth of the calls to end');
    server.child.kill('SIGKILL');
    await server.exited;

    server = await start();
    await waitFor(async () => ((await (await api(batchPath)).json()) as WireBatch).status === 'completed', 60_000, 'the batch to complete after restart');
    const final = (await (await api(batchPath)).json()) as WireBatch;

    assert.equal(final.recipients!.length, 300);
    for (const recipient of final.recipients!) assert.ok(terminal.has(recipient.status), `${recipient.id} ended ${recipient.status}`);
    for (const recipient of final.recipients!) assert.equal(recipient.attempts, 1, `${recipient.id} was attempted ${recipient.attempts} times`);
    assert.equal(final.total_calls_dispatched, 300);
    assert.equal(final.total_calls_finished, 300);

    const dials = readDialLog(dialLog).filter((entry) => entry.t === 'dial');
    const perAttempt = new Map<string, number>();
    for (const dial of dials) perAttempt.set(`${dial.recipient}:${dial.attempt}`, (perAttempt.get(`${dial.recipient}:${dial.attempt}`) ?? 0) + 1);
    const twice = [...perAttempt].filter(([, count]) => count > 1);
    assert.deepEqual(twice, [], 'the far end saw no attempt twice');
    assert.ok(dials.length <= 300);

    // Only calls live at the kill can be uncertain, and there were at most 30 of those.
    const uncertain = final.recipients!.filter((recipient) => recipient.reason === 'dispatch_uncertain');
    assert.ok(uncertain.length <= 30, `${uncertain.length} dispatch_uncertain`);
  });
});
