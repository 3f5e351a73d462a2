/**
 * Ending a call whose process died, from the dialog state it stored with the attempt.
 *
 * A SIP dialog cannot be adopted: the far ends send their in-dialog requests (the BYE that would
 * tell us how the call ended) to the dead process's Contact. So the reclaiming process ends what
 * is left: a CANCEL for a leg still ringing (same Via branch as its INVITE, §9.1) while it takes
 * over that INVITE's transaction to ACK the final response, and a BYE for every leg that
 * answered.
 *
 * Responses come back to this process when the far end honours `rport` (our Via asks for it) or
 * when this process listens where the dead one did (a restart on the same `--sip-listen`).
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../../domain/types.js';
import { cancelRequest, inDialogRequest, parseSnapshot, remoteTargetOf, routeSetOf, type LegSnapshot } from './dialog.js';
import { bodyText, createRequest, headerValue, type SipRequest, type SipResponse } from './message.js';
import { isSdp, rejectOffer } from './sdp.js';
import type { CallPhase } from './third-party-call.js';
import type { ClientTransactionUser } from './transaction.js';
import { tagOf } from './uri.js';
import type { UserAgent } from './user-agent.js';

export interface StoredCall {
  phase: CallPhase;
  callee: LegSnapshot;
  agent: LegSnapshot | null;
}

/**
 * What ending the call revealed: it had been answered; it had not (the final response its INVITE
 * got after our CANCEL, usually 487); or nothing certain.
 */
export type ReclaimVerdict = { kind: 'answered' } | { kind: 'not_answered'; status: number } | { kind: 'unknown' };

export function parseStoredCall(state: JsonObject | null): StoredCall | null {
  if (!state || state.v !== 1) return null;
  const phases: CallPhase[] = ['ringing', 'connecting', 'answered', 'ended'];
  if (!phases.includes(state.phase as CallPhase)) return null;
  const callee = parseSnapshot(state.callee);
  if (!callee) return null;
  return { phase: state.phase as CallPhase, callee, agent: state.agent ? parseSnapshot(state.agent) : null };
}

/** Sends the CANCELs and BYEs the stored state allows and waits (up to `waitMs`) for their answers. */
export async function endStoredCall(ua: UserAgent, call: StoredCall, waitMs: number, logger: Logger): Promise<ReclaimVerdict> {
  const legs = [call.callee, ...(call.agent ? [call.agent] : [])];
  const finals = await Promise.all(
    legs.map(async (leg) => {
      const which = leg === call.callee ? 'callee' : 'agent';
      if (leg.phase === 'answered' || leg.phase === 'confirmed') {
        const status = await bye(ua, leg, waitMs);
        logger.info({ leg: which, method: 'BYE', status }, 'sip:reclaim:sent');
        return null;
      }
      // Without a provisional the INVITE may never have arrived, and a CANCEL must not overtake it.
      if (leg.phase !== 'inviting' || !leg.provisional || !leg.inviteVia) return null;
      const status = await cancel(ua, leg, waitMs, logger);
      logger.info({ leg: which, method: 'CANCEL', inviteStatus: status }, 'sip:reclaim:sent');
      return status;
    }),
  );
  if (call.phase === 'answered') return { kind: 'answered' };
  const calleeFinal = finals[0];
  if (call.phase === 'ringing' && typeof calleeFinal === 'number' && calleeFinal >= 300) return { kind: 'not_answered', status: calleeFinal };
  return { kind: 'unknown' };
}

async function bye(ua: UserAgent, leg: LegSnapshot, waitMs: number): Promise<number | null> {
  if (!leg.remoteTag) return null;
  const { request, to } = inDialogRequest(
    dialogOf(leg, leg.remoteTag, leg.remoteTarget ?? leg.requestUri, leg.routeSet),
    'BYE',
    // Higher than anything the dead process sent in this dialog (it sends at most one BYE).
    leg.localSeq + 2,
    [{ name: 'User-Agent', value: 'redial' }],
  );
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs);
    const done = (status: number | null) => {
      clearTimeout(timer);
      resolve(status);
    };
    const user: ClientTransactionUser = { response: (response) => response.status >= 200 && done(response.status), timeout: () => done(null), transportError: () => done(null) };
    ua.request(request, to, user).catch(() => done(null));
  });
}

/** CANCELs the leg's INVITE and waits for the INVITE's final response; null when none came in time. */
async function cancel(ua: UserAgent, leg: LegSnapshot, waitMs: number, logger: Logger): Promise<number | null> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (status: number | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (status === null) invite.terminate();
      resolve(status);
    };
    const timer = setTimeout(() => finish(null), waitMs);
    const invite = ua.adoptInvite(rebuiltInvite(leg), leg.endpoint, {
      response: (response) => {
        if (response.status < 200) return;
        if (response.status < 300) dropAnswer(ua, leg, response).catch((error: unknown) => logger.warn({ err: error }, 'sip:reclaim:bye_failed'));
        finish(response.status);
      },
      timeout: () => finish(null),
      transportError: () => finish(null),
    });
    const user: ClientTransactionUser = {
      // 481: the INVITE transaction is already gone, so no final response will follow.
      response: (response) => response.status === 481 && finish(null),
      timeout: () => finish(null),
      transportError: () => finish(null),
    };
    ua.request(cancelRequest(leg), leg.endpoint, user, { keepVia: true }).catch(() => finish(null));
  });
}

/** The callee answered while nobody was listening: ACK (refusing its offer) and BYE at once. */
async function dropAnswer(ua: UserAgent, leg: LegSnapshot, response: SipResponse): Promise<void> {
  const tag = tagOf(headerValue(response, 'To'));
  if (!tag) return;
  const dialog = dialogOf(leg, tag, remoteTargetOf(response) ?? leg.requestUri, routeSetOf(response));
  const offer = isSdp(headerValue(response, 'Content-Type')) ? bodyText(response) : null;
  const ack = inDialogRequest(dialog, 'ACK', leg.inviteSeq, offer ? [{ name: 'Content-Type', value: 'application/sdp' }] : [], offer ? Buffer.from(rejectOffer(offer)) : undefined);
  await ua.sendAck(ack.request, ack.to);
  const { request, to } = inDialogRequest(dialog, 'BYE', leg.inviteSeq + 1);
  const ignore = (): void => undefined;
  await ua.request(request, to, { response: ignore, timeout: ignore, transportError: ignore });
}

/** The INVITE as the dead process sent it, as far as matching and ACKing its responses needs. */
function rebuiltInvite(leg: LegSnapshot): SipRequest {
  return createRequest('INVITE', leg.requestUri, [
    { name: 'Via', value: leg.inviteVia },
    { name: 'From', value: leg.from },
    { name: 'To', value: leg.to },
    { name: 'Call-ID', value: leg.callId },
    { name: 'CSeq', value: `${leg.inviteSeq} INVITE` },
  ]);
}

function dialogOf(leg: LegSnapshot, remoteTag: string, remoteTarget: string, routeSet: string[]) {
  return { callId: leg.callId, from: leg.from, to: leg.to, remoteTag, routeSet, remoteTarget, transport: leg.endpoint.transport };
}

