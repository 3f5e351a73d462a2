/**
 * What the crash tests (test/e2e/crash.*.test.ts, test/e2e/postgres-restart.test.ts) share: the
 * batch they submit, and the checks they make at the end from three independent records — the
 * API's view of the batch, the batch's event trail, and the simulated far end's own dial log.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { scriptCall, type SimulatedScript } from '../../src/telephony/simulated/outcomes.js';
import type { WireBatch, WireRecipient } from './fixtures.js';
import { apiFetch, readDialLog, waitFor } from './server.js';

export const terminalStatuses = new Set(['completed', 'failed', 'voicemail']);

export interface Api {
  (path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

export function apiOf(server: { url: string; apiKey: string }): Api {
  return (path, init) => apiFetch(server.url, server.apiKey, path, init);
}

/** Ordinary numbers outside the simulator's 555-01NN table, spread over area codes; ids r0…r(n-1). */
export function crashRecipients(count: number): { id: string; phone_number: string }[] {
  const areaCodes = ['212', '646', '718', '917', '347', '332', '929', '516'];
  return Array.from({ length: count }, (_, i) => ({
    id: `r${i}`,
    phone_number: `+1${areaCodes[i % areaCodes.length]}555${String(2000 + Math.floor(i / areaCodes.length)).padStart(4, '0')}`,
  }));
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Creates an agent and a caller number and submits the batch; returns its id. */
export async function submitCrashBatch(api: Api, options: { name: string; recipients: { id: string; phone_number: string }[]; limit: number }): Promise<string> {
  const agent = await json<{ agent_id: string }>(await api('/v1/convai/agents/create', { method: 'POST', json: { conversation_config: {}, name: options.name } }));
  const number = await json<{ phone_number_id: string }>(
    await api('/v1/convai/phone-numbers', { method: 'POST', json: { provider: 'twilio', phone_number: '+14155550100', label: 'caller', sid: 'AC00000000000000000000000000000001', token: 't' } }),
  );
  const batch = await json<WireBatch>(
    await api('/v1/convai/batch-calling/submit', {
      method: 'POST',
      json: {
        call_name: options.name,
        agent_id: agent.agent_id,
        agent_phone_number_id: number.phone_number_id,
        recipients: options.recipients,
        target_concurrency_limit: options.limit,
      },
    }),
  );
  return batch.id;
}

/** The batch, or null while the API cannot answer (a process starting, the database restarting). */
export async function tryGetBatch(api: Api, batchId: string, withRecipients = false): Promise<WireBatch | null> {
  try {
    // The detail view streams every recipient; the list view is the cheap way to watch the counters.
    if (withRecipients) {
      const response = await api(`/v1/convai/batch-calling/${batchId}`, { signal: AbortSignal.timeout(30_000) });
      return response.ok ? ((await response.json()) as WireBatch) : null;
    }
    // A process killed mid-answer must not leave this waiting forever.
    const response = await api(`/v1/convai/batch-calling/workspace?limit=100`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return null;
    const page = (await response.json()) as { batch_calls: WireBatch[] };
    return page.batch_calls.find((batch) => batch.id === batchId) ?? null;
  } catch {
    return null;
  }
}

export interface WireEvent {
  id: number;
  type: string;
  recipient_seq: number | null;
  attempt: number | null;
  from_status: string | null;
  to_status: string | null;
  reason: string | null;
  at_ms: number;
}

export async function allEvents(api: Api, batchId: string): Promise<WireEvent[]> {
  const events: WireEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await json<{ events: WireEvent[]; next_after: number; has_more: boolean }>(
      await api(`/v1/redial/batch-calling/${batchId}/events?after=${after}&limit=10000`),
    );
    events.push(...page.events);
    if (!page.has_more) return events;
    after = page.next_after;
  }
}

/**
 * How long the simulator keeps a call up, from its dial to its end, in ms: the last step of the
 * timeline `SimulatedProvider` builds from the same script (src/telephony/simulated/provider.ts),
 * null for a call the carrier refuses (never dialed).
 */
export function scriptedDurationMs(script: SimulatedScript, ringingTimeoutSecs: number, timeScale: number): number | null {
  const ms = (secs: number) => Math.round(secs * 1000 * timeScale);
  switch (script.kind) {
    case 'answer':
    case 'voicemail':
      return ms(script.ringSecs + script.talkSecs);
    case 'no_answer':
      return ms(ringingTimeoutSecs);
    case 'busy':
    case 'invalid_number':
      return ms(script.afterSecs);
    case 'provider_error':
      return null;
  }
}

/** The longest call the simulator places at this time scale (answer: ring ≤ 10 s + talk ≤ 90 s; no answer: the ringing timeout). */
export function longestCallMs(ringingTimeoutSecs: number, timeScale: number): number {
  return Math.ceil(Math.max(100, ringingTimeoutSecs) * 1000 * timeScale);
}

export interface Kill {
  at: number;
  pid: number;
}

export interface CrashCheck {
  /** The batch as the API returns it at the end (with every recipient). */
  final: WireBatch;
  /** Recipients as submitted; seq n is recipients[n - 1]. */
  recipients: { id: string; phone_number: string }[];
  events: WireEvent[];
  dialLogPath: string;
  kills: Kill[];
  limit: number;
  /** Most calls one killed process can have had in flight (a worker holds at most the batch's limit). */
  perProcessInFlight: number;
  timeScale: number;
  seed: number;
  ringingTimeoutSecs: number;
}

export interface CrashStats {
  dials: number;
  maxSimultaneous: number;
  endsComputed: number;
  uncertain: number;
  reclaims: number;
  outcomes: Record<string, number>;
}

/** Every check the issue asks of a run that was crashed, against the batch, its events and the far end's log. */
export function checkCrashRun(c: CrashCheck): CrashStats {
  const { final } = c;
  const count = c.recipients.length;
  const byId = new Map(c.recipients.map((recipient, index) => [recipient.id, { ...recipient, seq: index + 1 }]));

  // Every recipient terminal, each attempted exactly once (the batch asked for no retry).
  assert.equal(final.status, 'completed');
  assert.equal(final.recipients!.length, count);
  const notTerminal = final.recipients!.filter((recipient) => !terminalStatuses.has(recipient.status));
  assert.deepEqual(notTerminal.map(brief), [], 'every recipient ends in a terminal status');
  const notOnce = final.recipients!.filter((recipient) => recipient.attempts !== 1);
  assert.deepEqual(notOnce.map(brief), [], 'every recipient was attempted exactly once');
  assert.equal(final.total_calls_dispatched, count, 'total_calls_dispatched');
  assert.equal(final.total_calls_finished, count, 'total_calls_finished');
  const outcomes: Record<string, number> = {};
  for (const recipient of final.recipients!) {
    const key = recipient.reason ? `${recipient.status}/${recipient.reason}` : recipient.status;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }

  // No attempt dialed twice, by the far end's own log.
  const log = readDialLog(c.dialLogPath).filter((entry) => entry.batch === undefined || entry.batch === final.id || entry.t === 'end');
  const dials = log.filter((entry) => entry.t === 'dial' && entry.batch === final.id) as { at: number; call: string; recipient: string; attempt: number; to: string }[];
  const perAttempt = new Map<string, number>();
  for (const dial of dials) perAttempt.set(`${final.id}:${dial.recipient}:${dial.attempt}`, (perAttempt.get(`${final.id}:${dial.recipient}:${dial.attempt}`) ?? 0) + 1);
  const twice = [...perAttempt].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'the far end saw no attempt twice');
  for (const dial of dials) assert.ok(byId.has(dial.recipient), `the far end was dialed for an unknown recipient ${dial.recipient}`);

  // The concurrency limit, by the far end's own log: a call is up from its dial line to its end
  // line (the latest one: a call can be ended by the process that followed it and again by the
  // lookup of a process that reclaimed it before the first wrote the end down). A dialed call
  // with no end line is one whose process was killed while it was up and whose attempt was then
  // reconciled `dispatch_uncertain` (redial had no provider call id to look it up by), so nobody
  // logged its end; the simulator's script is a pure function of (seed, recipient, attempt,
  // number), so its end is computed here exactly as the simulator would have reached it:
  // end = dial time + the last step of the script's timeline (scriptCall from
  // src/telephony/simulated/outcomes.ts with the same seed and ringing timeout, scaled by the time scale).
  const ends = new Map<string, number>();
  for (const entry of log) {
    if (entry.t !== 'end') continue;
    const call = entry.call as string;
    ends.set(call, Math.max(ends.get(call) ?? Number.NEGATIVE_INFINITY, entry.at as number));
  }
  const steps: { at: number; delta: number }[] = [];
  const unended: string[] = [];
  for (const dial of dials) {
    let end = ends.get(dial.call);
    if (end === undefined) {
      unended.push(dial.recipient);
      const script = scriptCall({ seed: c.seed, recipientId: dial.recipient, attemptNumber: dial.attempt, to: dial.to, ringingTimeoutSecs: c.ringingTimeoutSecs });
      const duration = scriptedDurationMs(script, c.ringingTimeoutSecs, c.timeScale);
      assert.notEqual(duration, null, `${dial.recipient} was dialed although its script refuses the call`);
      end = dial.at + duration!;
    }
    steps.push({ at: dial.at, delta: +1 }, { at: end, delta: -1 });
  }
  // At the same millisecond an end comes before a dial: the slot it frees is what the dial took.
  steps.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let up = 0;
  let maxSimultaneous = 0;
  let maxAt = 0;
  for (const step of steps) {
    up += step.delta;
    if (up > maxSimultaneous) {
      maxSimultaneous = up;
      maxAt = step.at;
    }
  }
  assert.ok(maxSimultaneous <= c.limit, `${maxSimultaneous} calls were up at once at ${maxAt} (limit ${c.limit})`);

  // Every dispatch_uncertain is explained by a kill: its attempt was leased (and, if the far end
  // saw it, dialed) before some kill, and reclaimed from the dead process after that kill.
  const uncertain = final.recipients!.filter((recipient) => recipient.reason === 'dispatch_uncertain');
  const dialAt = new Map(dials.map((dial) => [dial.recipient, dial.at]));
  const leasedAt = new Map<number, number>();
  const reclaimedAt = new Map<number, number[]>();
  for (const event of c.events) {
    if (event.recipient_seq === null) continue;
    if (event.type === 'recipient:dispatch' && event.attempt === 1) leasedAt.set(event.recipient_seq, event.at_ms);
    if (event.type === 'recipient:reclaim') reclaimedAt.set(event.recipient_seq, [...(reclaimedAt.get(event.recipient_seq) ?? []), event.at_ms]);
  }
  const unexplained: string[] = [];
  for (const recipient of uncertain) {
    const seq = byId.get(recipient.id)!.seq;
    const leased = leasedAt.get(seq);
    const since = Math.max(leased ?? Number.POSITIVE_INFINITY, dialAt.get(recipient.id) ?? Number.NEGATIVE_INFINITY);
    const reclaims = reclaimedAt.get(seq) ?? [];
    const kill = c.kills.find((k) => since <= k.at && reclaims.some((at) => at >= k.at));
    if (!kill) unexplained.push(`${recipient.id} (leased ${leased}, dialed ${dialAt.get(recipient.id)}, reclaimed ${reclaims.join('/') || 'never'})`);
  }
  assert.deepEqual(unexplained, [], `dispatch_uncertain not explained by a kill (kills at ${c.kills.map((k) => k.at).join(', ')})`);
  assert.ok(uncertain.length <= c.kills.length * c.perProcessInFlight, `${uncertain.length} dispatch_uncertain for ${c.kills.length} kills`);
  // A call left without an end line was up in a process that died, and only an attempt redial
  // could not look up (dispatch_uncertain) is left without one: any other was looked up or adopted.
  const uncertainIds = new Set(uncertain.map((recipient) => recipient.id));
  assert.deepEqual(
    unended.filter((id) => !uncertainIds.has(id)),
    [],
    'every dialed call has an end line except those reconciled dispatch_uncertain',
  );

  let reclaims = 0;
  for (const list of reclaimedAt.values()) reclaims += list.length;
  return { dials: dials.length, maxSimultaneous, endsComputed: unended.length, uncertain: uncertain.length, reclaims, outcomes };
}

function brief(recipient: WireRecipient): string {
  return `${recipient.id}:${recipient.status}${recipient.reason ? `/${recipient.reason}` : ''}×${recipient.attempts}`;
}

/** Throws if a process the test did not kill has exited (a crash of redial itself), with its output. */
export function assertNoneExited(processes: { child: ChildProcess; output: () => string }[], killedPids: ReadonlySet<number> = new Set()): void {
  for (const proc of processes) {
    const { exitCode, signalCode, pid } = proc.child;
    if ((exitCode !== null || signalCode !== null) && !killedPids.has(pid!)) {
      throw new Error(`redial process ${pid} exited by itself (${signalCode ?? `code ${exitCode}`}):\n${proc.output()}`);
    }
  }
}

/**
 * Waits until the batch completes (failing at once if a process exits that was not killed on
 * purpose), then runs every end-of-run check on it.
 */
export async function completeAndCheck(
  api: Api,
  batchId: string,
  processes: { child: ChildProcess; output: () => string }[],
  killedPids: ReadonlySet<number>,
  check: Omit<CrashCheck, 'final' | 'events'>,
): Promise<{ completedAt: number; stats: CrashStats }> {
  await waitFor(
    async () => {
      assertNoneExited(processes, killedPids);
      return (await tryGetBatch(api, batchId))?.status === 'completed';
    },
    90_000,
    'the batch to complete',
  );
  const completedAt = Date.now();
  const final = (await tryGetBatch(api, batchId, true))!;
  const events = await allEvents(api, batchId);
  return { completedAt, stats: checkCrashRun({ ...check, final, events }) };
}
