/**
 * A sipp trunk that follows the simulator's number table, and a sipp agent that answers every
 * call, for tests that run whole batches over SIP (`scenarios/table-trunk.xml` lists the table).
 *
 * Expected outcomes for +1NXX55501NN through the sip_trunk provider:
 *   00–49 completed (the callee hangs up after `talkMs`), 65–69 completed too (no voicemail over
 *   SIP), 50–59 and 80–99 no_answer (at the ringing timeout: keep it short), 60–64 busy,
 *   70–74 invalid_number, 75–79 provider_error.
 *
 * The trunk also counts INVITE dialogs from its own trace, so a test can check a concurrency
 * limit the way the far end sees it.
 */
import { readFileSync } from 'node:fs';
import type { FailureReason } from '../../src/domain/status.js';
import { startSipp, type SippProcess, type SippResult } from './helpers.js';

export interface SipTableOptions {
  /** How long an answered callee talks before hanging up, in ms (default 300). */
  talkMs?: number;
  /** The trunk's transport (the agent is always UDP). */
  transport?: 'udp' | 'tcp';
  /** sipp's global timeout (default 300 s): both exit after this long whatever happens. */
  timeoutSecs?: number;
  /** A test to stop both sipps when it ends. */
  owner?: { after(fn: () => Promise<unknown>): void };
}

export interface TableDialog {
  callId: string;
  /** The NN of +1NXX55501NN, or null for a number outside the table. */
  nn: number | null;
  /** The trunk's final word on the INVITE or how the call ended: '486', '404', '503', '487', 'bye'. */
  end: string | null;
}

export interface SipTable {
  /** The `outbound_trunk.address` to give the phone number. */
  trunkAddress: string;
  /** The agent's `handoff.sip_uri`. */
  agentUri: string;
  trunk: SippProcess;
  agent: SippProcess;
  /** The most INVITE dialogs the trunk had open at once: from the INVITE to its failure response or the BYE's 200. */
  maxOpenDialogs(): number;
  /** Every dialog the trunk has seen so far, in order of arrival. */
  dialogs(): TableDialog[];
  stop(): Promise<{ trunk: SippResult; agent: SippResult }>;
}

export type TableOutcome = { outcome: 'completed' } | { outcome: 'failed'; reason: FailureReason };

/** What a call to `number` should end as through a table trunk. */
export function expectedTableOutcome(number: string): TableOutcome {
  const match = /^\+1\d{3}55501(\d{2})$/.exec(number);
  const nn = match ? Number(match[1]) : 99;
  if (nn <= 49) return { outcome: 'completed' };
  if (nn <= 59) return { outcome: 'failed', reason: 'no_answer' };
  if (nn <= 64) return { outcome: 'failed', reason: 'busy' };
  if (nn <= 69) return { outcome: 'completed' };
  if (nn <= 74) return { outcome: 'failed', reason: 'invalid_number' };
  if (nn <= 79) return { outcome: 'failed', reason: 'provider_error' };
  return { outcome: 'failed', reason: 'no_answer' };
}

export async function startSipTable(options: SipTableOptions = {}): Promise<SipTable> {
  const common = { calls: 0, timeoutSecs: options.timeoutSecs ?? 300, ...(options.owner ? { owner: options.owner } : {}) };
  const [trunk, agent] = await Promise.all([
    startSipp({ scenario: 'table-trunk.xml', transport: options.transport ?? 'udp', pauseMs: options.talkMs ?? 300, shortTrace: true, ...common }),
    startSipp({ scenario: 'agent-answer.xml', ...common }),
  ]);
  const dialogs = () => readDialogs(trunk.shortMessagesFile);
  return {
    trunkAddress: trunk.address,
    agentUri: `sip:agent@${agent.address}`,
    trunk,
    agent,
    dialogs: () => dialogs().list,
    maxOpenDialogs: () => dialogs().maxOpen,
    stop: async () => {
      const [trunkResult, agentResult] = await Promise.all([trunk.stop(), agent.stop()]);
      return { trunk: trunkResult, agent: agentResult };
    },
  };
}

/**
 * Reads sipp's short-message trace (one line per message: date, time, S or R, Call-ID, CSeq,
 * first line; tab-separated) in order and replays opens and closes.
 */
function readDialogs(file: string): { list: TableDialog[]; maxOpen: number } {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { list: [], maxOpen: 0 };
  }
  const byCallId = new Map<string, TableDialog>();
  let open = 0;
  let maxOpen = 0;
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const directionAt = fields.findIndex((field) => field === 'S' || field === 'R');
    if (directionAt === -1) continue;
    const [direction, callId, cseq, firstLine] = fields.slice(directionAt, directionAt + 4) as [string, string, string, string];
    if (!callId || !firstLine) continue;
    const method = /CSeq:\s*\d+\s+(\S+)/.exec(cseq)?.[1] ?? '';
    let dialog = byCallId.get(callId);
    if (!dialog) {
      if (direction !== 'R' || !firstLine.startsWith('INVITE ')) continue;
      const nn = /^INVITE sip:\+1\d{3}55501(\d{2})@/.exec(firstLine)?.[1];
      dialog = { callId, nn: nn === undefined ? null : Number(nn), end: null };
      byCallId.set(callId, dialog);
      open++;
      maxOpen = Math.max(maxOpen, open);
      continue;
    }
    if (dialog.end !== null) continue;
    const status = /^SIP\/2\.0 (\d{3})/.exec(firstLine)?.[1];
    const failed = direction === 'S' && method === 'INVITE' && status !== undefined && Number(status) >= 300;
    const byeDone = status === '200' && method === 'BYE';
    if (failed || byeDone) {
      dialog.end = failed ? status! : 'bye';
      open--;
    }
  }
  return { list: [...byCallId.values()], maxOpen };
}
