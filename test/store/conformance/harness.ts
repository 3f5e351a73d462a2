/**
 * The store conformance suite: one set of behaviours every `Store` implementation must show.
 * `exerciseStore(name, makeStores)` runs it; `makeStores(n)` opens n stores on one fresh database
 * (n > 1 for the lease races), and `cleanup` drops that database.
 */
import assert from 'node:assert/strict';
import type { AttemptRef, NewBatch, NewRecipient, Recipient } from '../../../src/domain/types.js';
import type { CallChange, LeasedCall, Store } from '../../../src/store/store.js';

export interface StoreFactory {
  (count: number): Promise<{ stores: Store[]; cleanup: () => Promise<void> }>;
}

let counter = 0;

export function newBatch(overrides: Partial<NewBatch> = {}): NewBatch {
  counter++;
  return {
    id: `btcal_conformance_${Date.now()}_${counter}`,
    workspaceId: 'ws',
    name: 'conformance',
    agentId: 'agent_1',
    agentName: 'Agent',
    phoneNumberId: 'phnum_1',
    phoneProvider: 'simulated',
    whatsappParams: null,
    branchId: null,
    environment: null,
    timezone: null,
    scheduledAt: 1_000,
    telephonyCallConfig: {},
    targetConcurrencyLimit: null,
    concurrencyLimit: 100,
    dynamicVariableNames: ['name'],
    idempotencyKey: null,
    requestHash: null,
    createdAt: 1_000,
    ...overrides,
  };
}

export function newRecipients(count: number): NewRecipient[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `r${i}`,
    phoneNumber: `+1202555${String(1000 + i).padStart(4, '0')}`,
    whatsappUserId: null,
    clientData: { dynamic_variables: { name: `Person ${i}` } },
  }));
}

/** Just the attempt's key: a `LeasedCall` spread into a `CallChange` would carry its other fields along. */
export function refOf(call: AttemptRef): AttemptRef {
  return { batchKey: call.batchKey, seq: call.seq, attemptNumber: call.attemptNumber };
}

/** The change that ends a leased call at 2,000 with this outcome. */
export function ended(call: LeasedCall, outcome: 'completed' | 'failed' | 'voicemail', reason: CallChange['reason'] = null): CallChange {
  return {
    ...refOf(call),
    fromStatus: call.status,
    toStatus: outcome,
    transitions: outcome === 'completed' ? ['answer', 'complete'] : outcome === 'voicemail' ? ['voicemail'] : ['fail'],
    changedAt: 2_000,
    providerCallId: `call-${call.seq}`,
    ...(outcome === 'completed' ? { answeredAt: 1_500, conversationId: `conv-${call.seq}` } : {}),
    endedAt: 2_000,
    reason,
  };
}

export async function recipientsOf(store: Store, batchKey: number): Promise<Recipient[]> {
  const all: Recipient[] = [];
  for await (const page of store.recipientPages(batchKey, 7)) all.push(...page);
  return all;
}

/** One attempt as schema version 1 stored it, for the tests that upgrade such a database. */
export const versionOneAttemptInsert = `INSERT INTO attempts (batch_key, seq, number, provider, provider_call_id, dialed_at) VALUES (7, 1, 1, 'twilio', 'CA1', 5000)`;

/** Checks a store opened on a database written at version 1 (with `versionOneAttemptInsert`) upgraded it, then closes it. */
export async function assertUpgradedFromVersionOne(store: Store): Promise<void> {
  try {
    assert.deepEqual(
      (await store.attemptList(7)).map((a) => [a.providerCallId, a.providerState]),
      [['CA1', null]],
    );
    assert.equal(await store.dialSlotsReserve('pace', 10, 1, 1_000), 1_000);
  } finally {
    await store.close();
  }
}
