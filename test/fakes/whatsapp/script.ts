/**
 * What a fake WhatsApp user does, decided by their id alone so a test names its outcome by
 * picking a user. Users are the simulator's fictional numbers without the `+`: `1NXX55501NN`.
 *
 * - The area code NXX decides the call permission request: 303 declines, 404 never answers,
 *   505 has granted permanent permission before any request, anything else grants (temporary,
 *   seven days) one scaled second after the request.
 * - NN decides the rest, as the simulator's table (`scriptCall`) does: 00–49 answer, 50–59 ring
 *   out, 60–64 busy and 65–69 voicemail both *reject* the call (WhatsApp has neither a busy tone
 *   nor voicemail), 70–72 cannot receive the request (a `failed` status, error 131026), 73–74
 *   are refused at once (400, error 131030), 75–79 get a 503, 80–89 answer from the second call
 *   on, 90–99 from the third. A user's nth call is the simulator's attempt n.
 * - Users outside the table grant permission and follow `scriptCall`'s seeded draw.
 */
import { scriptCall, type SimulatedScript } from '../../../src/telephony/simulated/outcomes.js';

export type PermissionBehaviour = 'grant' | 'decline' | 'ignore' | 'held';
export type MessageBehaviour = 'deliver' | 'undeliverable' | 'not_allowed' | 'server_error';

const tableUser = /^1(\d{3})55501(\d{2})$/;

export function permissionBehaviour(user: string): PermissionBehaviour {
  const npa = tableUser.exec(user)?.[1];
  if (npa === '303') return 'decline';
  if (npa === '404') return 'ignore';
  if (npa === '505') return 'held';
  return 'grant';
}

export function messageBehaviour(user: string): MessageBehaviour {
  const nn = Number(tableUser.exec(user)?.[2] ?? -1);
  if (nn >= 70 && nn <= 72) return 'undeliverable';
  if (nn >= 73 && nn <= 74) return 'not_allowed';
  if (nn >= 75 && nn <= 79) return 'server_error';
  return 'deliver';
}

/** The simulator's script for the user's `nth` call (1 = first). */
export function callScript(user: string, nth: number, seed: number, ringLimitSecs: number): SimulatedScript {
  return scriptCall({ seed, recipientId: user, attemptNumber: nth, to: `+${user}`, ringingTimeoutSecs: ringLimitSecs });
}
