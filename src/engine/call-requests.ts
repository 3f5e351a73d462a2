/**
 * What a provider is told about a call, built the same way whether the dispatcher is about to dial
 * it, a process is reconciling it after a crash, or a carrier's callback has to be checked.
 */
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

/** The directory providers use to check callbacks, read from the store. */
export function createProviderDirectory(store: Store, defaultRingingTimeoutSecs: number): ProviderDirectory {
  return {
    attempt: async ({ batchId, seq, attemptNumber }): Promise<PlacedCall | null> => {
      const batch = await store.batchGetById(batchId);
      if (!batch) return null;
      const [found, context] = await Promise.all([store.attemptGet(batch.key, seq, attemptNumber), loadDialContext(store, batch)]);
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
