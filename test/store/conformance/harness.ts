/**
 * The store conformance suite: one set of behaviours every `Store` implementation must show.
 * `exerciseStore(name, makeStores)` runs it; `makeStores(n)` opens n stores on one fresh database
 * (n > 1 for the lease races), and `cleanup` drops that database.
 */
import type { NewBatch, NewRecipient } from '../../../src/domain/types.js';
import type { Store } from '../../../src/store/store.js';

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
