/** The recipients the benchmark submits: valid, varied US numbers, each with a dynamic variable. */

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
