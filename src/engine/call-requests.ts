/**
 * What a provider is told about a call, built the same way whether the dispatcher is about to dial
 * it, a process is reconciling it after a crash, or a carrier's callback has to be checked.
 */
import type { Clock } from '../domain/clock.js';
import type { Agent, Batch, JsonObject, PhoneNumber } from '../domain/types.js';
import type { LeasedCall, Store } from '../store/store.js';
import type { PlaceCallRequest, PlacedCall, ProviderDirectory } from '../telephony/provider.js';

export interface DialContext {
  batch: Batch;
  agent: Agent | null;
  phoneNumber: PhoneNumber | null;
}

type CallOf = Pick<LeasedCall, 'batchId' | 'batchKey' | 'seq' | 'attemptNumber' | 'recipientId' | 'phoneNumber' | 'whatsappUserId' | 'clientData'>;

export function placeCallRequestOf(call: CallOf, context: DialContext & { agent: Agent }, defaultRingingTimeoutSecs: number): PlaceCallRequest {
  const config = context.batch.telephonyCallConfig;
  return {
    batchId: call.batchId,
    batchKey: call.batchKey,
    seq: call.seq,
    attemptNumber: call.attemptNumber,
    recipientId: call.recipientId,
    to: call.phoneNumber,
    whatsappUserId: call.whatsappUserId,
    clientData: call.clientData,
    agent: context.agent,
    phoneNumber: context.phoneNumber,
    telephonyCallConfig: config,
    whatsappParams: context.batch.whatsappParams,
    ringingTimeoutSecs: config.ringing_timeout_secs ?? defaultRingingTimeoutSecs,
  };
}

export async function loadDialContext(store: Store, batch: Batch): Promise<DialContext> {
  const [agent, phoneNumber] = await Promise.all([
    store.agentGet(batch.workspaceId, batch.agentId),
    batch.phoneNumberId ? store.phoneNumberGet(batch.workspaceId, batch.phoneNumberId) : Promise.resolve(null),
  ]);
  return { batch, agent, phoneNumber };
}

const contextTtlMs = 5_000;

/**
 * Dial contexts kept for a few seconds, by whatever finds the batch (its key when dialing, its
 * public id for callbacks): a batch's calls, and each call's callbacks, need one many times a
 * second. Entries only serve the next few seconds, so a long-running process that sees many
 * batches drops the stale ones rather than keep them all.
 */
export class DialContextCache<K> {
  readonly #entries = new Map<K, { context: DialContext; loadedAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly findBatch: (key: K) => Promise<Batch | null>,
  ) {}

  async get(key: K): Promise<DialContext | null> {
    const now = this.clock.now();
    const cached = this.#entries.get(key);
    if (cached && now - cached.loadedAt < contextTtlMs) return cached.context;
    const batch = await this.findBatch(key);
    if (!batch) return null;
    const context = await loadDialContext(this.store, batch);
    if (this.#entries.size >= 1_000) {
      for (const [old, entry] of this.#entries) if (now - entry.loadedAt >= contextTtlMs) this.#entries.delete(old);
    }
    this.#entries.set(key, { context, loadedAt: now });
    return context;
  }
}

/**
 * The directory providers use to check callbacks, read from the store. Every call gets about four
 * callbacks, so a batch's agent and number are cached; the attempt is read fresh.
 */
export function createProviderDirectory(store: Store, clock: Clock, defaultRingingTimeoutSecs: number): ProviderDirectory {
  const contexts = new DialContextCache<string>(store, clock, (batchId) => store.batchGetById(batchId));
  return {
    attempt: async ({ batchId, seq, attemptNumber }): Promise<PlacedCall | null> => {
      const context = await contexts.get(batchId);
      if (!context) return null;
      const batch = context.batch;
      const found = await store.attemptGet(batch.key, seq, attemptNumber);
      if (!found || !context.agent) return null;
      const { attempt, recipient } = found;
      const call: CallOf = {
        batchId,
        batchKey: batch.key,
        seq,
        attemptNumber,
        recipientId: recipient.id,
        phoneNumber: recipient.phoneNumber,
        whatsappUserId: recipient.whatsappUserId,
        clientData: recipient.clientData,
      };
      return {
        ...placeCallRequestOf(call, { ...context, agent: context.agent }, defaultRingingTimeoutSecs),
        providerCallId: attempt.providerCallId ?? '',
        dialedAt: attempt.dialedAt,
        providerState: attempt.providerState as JsonObject | null,
      };
    },
    phoneNumber: (phoneNumberId) => store.phoneNumberGetById(phoneNumberId),
  };
}
