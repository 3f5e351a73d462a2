/** The recipients the benchmark submits: valid, varied US numbers, each with a dynamic variable. */
import type { NewBatch, NewRecipient } from '../src/domain/types.js';
import type { Store } from '../src/store/store.js';

/** Ten area codes; with 555-0000…9999 under each that is 100,000 distinct numbers. */
export const areaCodes = ['202', '212', '305', '312', '415', '503', '512', '617', '718', '929'] as const;

/**
 * +1 NPA 555 NNNN. The 555-0100…0199 block is the simulator's fixed-outcome table (1 % of these);
 * the other 99 % get the simulator's seeded random outcomes (answer, no answer, busy, voicemail,
 * carrier error), so the run exercises every ending.
 */
export function benchNumber(index: number): string {
  const npa = areaCodes[index % areaCodes.length]!;
  const line = Math.floor(index / areaCodes.length) % 10_000;
  return `+1${npa}555${String(line).padStart(4, '0')}`;
}

export interface SubmitOptions {
  callName: string;
  agentId: string;
  phoneNumberId: string;
  recipients: number;
  targetConcurrencyLimit: number;
  /** Unix seconds; null = dispatch at once. */
  scheduledTimeUnix: number | null;
}

/** The submit body, serialised (built once, outside the timed section). */
export function submitBody(options: SubmitOptions): string {
  const recipients = new Array<string>(options.recipients);
  for (let i = 0; i < options.recipients; i++) {
    recipients[i] = JSON.stringify({
      id: `r${i}`,
      phone_number: benchNumber(i),
      conversation_initiation_client_data: { dynamic_variables: { customer_name: `Customer ${i}` } },
    });
  }
  const head = JSON.stringify({
    call_name: options.callName,
    agent_id: options.agentId,
    agent_phone_number_id: options.phoneNumberId,
    target_concurrency_limit: options.targetConcurrencyLimit,
    scheduled_time_unix: options.scheduledTimeUnix,
  });
  return `${head.slice(0, -1)},"recipients":[${recipients.join(',')}]}`;
}

export const retryBatchId = 'btcal_bench_retry';

/**
 * Submits the retry bench's batch of `count` recipients through a store and returns its key and
 * how long the submit took (the large-recipient array is dropped before the timed retry runs).
 */
export async function submitRetryBatch(store: Store, count: number, label: string): Promise<{ batchKey: number; submitMs: number }> {
  const now = Date.now();
  const batch: NewBatch = {
    id: retryBatchId,
    workspaceId: 'default',
    name: 'bench retry',
    agentId: 'agent_bench',
    agentName: 'Bench agent',
    phoneNumberId: 'phnum_bench',
    phoneProvider: 'twilio',
    whatsappParams: null,
    branchId: null,
    environment: null,
    timezone: null,
    scheduledAt: now,
    telephonyCallConfig: {},
    targetConcurrencyLimit: 5000,
    concurrencyLimit: 5000,
    dynamicVariableNames: ['customer_name'],
    idempotencyKey: null,
    requestHash: null,
    createdAt: now,
  };
  const recipients: NewRecipient[] = Array.from({ length: count }, (_, i) => ({
    id: `r${i}`,
    phoneNumber: benchNumber(i),
    whatsappUserId: null,
    clientData: { dynamic_variables: { customer_name: `Customer ${i}` } },
  }));
  const started = performance.now();
  const outcome = await store.batchSubmit(batch, recipients);
  const submitMs = performance.now() - started;
  if (outcome.kind !== 'created') throw new Error(`${label}: submit was ${outcome.kind}`);
  return { batchKey: outcome.batch.key, submitMs };
}

/**
 * Marks a retry batch's recipients finished as dispatch would have, one in five failed (no_answer)
 * for the retry to re-queue; `batchKey` is the dialect's placeholder for the batch key.
 */
export function markFinishedSql(batchKey: string): string {
  return `
UPDATE recipients SET
  status = CASE WHEN seq % 5 = 0 THEN 'failed' ELSE 'completed' END,
  reason = CASE WHEN seq % 5 = 0 THEN 'no_answer' END,
  attempt_count = 1,
  lease_owner = NULL,
  lease_expires_at = NULL
WHERE batch_key = ${batchKey}`;
}
