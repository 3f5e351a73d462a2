/**
 * The number-table trunk (trunk.ts) driven through the provider directly: every outcome of the
 * table, a few calls at a time, and the trunk's own count of open dialogs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callRequest, startProvider } from './helpers.js';
import { expectedTableOutcome, startSipTable } from './trunk.js';

const numbers = ['00', '49', '50', '60', '64', '65', '70', '75', '79', '85'].map((nn) => `+120255501${nn}`);

test('sip_trunk: a number-table trunk gives every outcome of the table, three calls at a time', async (t) => {
  const table = await startSipTable({ owner: t, talkMs: 200 });
  const { provider, sink } = startProvider();
  t.after(() => provider.close());

  const queue = numbers.map((to, i) => ({ to, seq: i + 1 }));
  const ends = new Map<string, unknown>();
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { providerCallId } = await provider.placeCall(
        callRequest({ trunkAddress: table.trunkAddress, agentUri: table.agentUri, to: next.to, seq: next.seq, ringingTimeoutSecs: 1 }),
      );
      const end = await sink.waitForEnd(providerCallId);
      ends.set(next.to, end.kind === 'ended' && end.outcome === 'failed' ? { outcome: 'failed', reason: end.reason } : { outcome: end.outcome });
    }
  };
  await Promise.all([worker(), worker(), worker()]);

  for (const to of numbers) assert.deepEqual(ends.get(to), expectedTableOutcome(to), `outcome of ${to}`);
  const dialogs = table.dialogs();
  assert.equal(dialogs.length, numbers.length, 'one INVITE dialog per call');
  assert.deepEqual(
    Object.fromEntries(dialogs.map((dialog) => [dialog.nn, dialog.end])),
    { 0: 'bye', 49: 'bye', 50: '487', 60: '486', 64: '486', 65: 'bye', 70: '404', 75: '503', 79: '503', 85: '487' },
  );
  const maxOpen = table.maxOpenDialogs();
  assert.ok(maxOpen >= 2 && maxOpen <= 3, `the trunk saw at most ${maxOpen} dialogs open at once`);
});
