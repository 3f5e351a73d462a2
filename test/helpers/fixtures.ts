/** Builders for the objects most tests need: an agent, a caller number, a batch of table numbers. */
import type { TestServer } from './server.js';

export async function createAgent(server: Pick<TestServer, 'api'>, name = 'Test agent'): Promise<string> {
  const response = await server.api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {}, name } });
  if (!response.ok) throw new Error(`agent create failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { agent_id: string }).agent_id;
}

export async function createPhoneNumber(server: Pick<TestServer, 'api'>, provider = 'twilio'): Promise<string> {
  const response = await server.api('/v1/convai/phone-numbers', {
    method: 'POST',
    json: { provider, phone_number: '+14155550100', label: 'caller', sid: 'AC0123456789abcdef0123456789abcdef', token: 'secret-token' },
  });
  if (!response.ok) throw new Error(`phone number create failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { phone_number_id: string }).phone_number_id;
}

/** The simulator's fictional number with this NN (see the README's table). */
export function tableNumber(nn: number, npa = 202): string {
  return `+1${npa}55501${String(nn).padStart(2, '0')}`;
}

export interface WireBatch {
  id: string;
  status: string;
  total_calls_dispatched: number;
  total_calls_scheduled: number;
  total_calls_finished: number;
  retry_count: number;
  recipients?: WireRecipient[];
  [key: string]: unknown;
}

export interface WireRecipient {
  id: string;
  status: string;
  reason?: string;
  attempts?: number;
  phone_number?: string;
  conversation_id?: string;
}

export async function submitBatch(server: Pick<TestServer, 'api'>, body: Record<string, unknown>): Promise<WireBatch> {
  const response = await server.api('/v1/convai/batch-calling/submit', { method: 'POST', json: body });
  if (!response.ok) throw new Error(`submit failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as WireBatch;
}

export async function getBatch(server: Pick<TestServer, 'api'>, batchId: string): Promise<WireBatch> {
  const response = await server.api(`/v1/convai/batch-calling/${batchId}`);
  if (!response.ok) throw new Error(`get failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as WireBatch;
}
