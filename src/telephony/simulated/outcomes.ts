/**
 * What the simulated far end does, as a pure function of (seed, recipient id, attempt number)
 * and, for the fictional 555-01NN numbers, of the number itself. Same inputs, same call: tests
 * and benchmarks are reproducible, and a process that adopts a call after a crash can work out
 * where it stands from the dial time alone.
 */

export type SimulatedScript =
  /** Rings for `ringSecs`, answers, talks for `talkSecs`, hangs up. */
  | { kind: 'answer'; ringSecs: number; talkSecs: number }
  /** Rings until the ringing timeout. */
  | { kind: 'no_answer' }
  | { kind: 'busy'; afterSecs: number }
  /** A machine answers after `ringSecs` and records for `talkSecs`. */
  | { kind: 'voicemail'; ringSecs: number; talkSecs: number }
  | { kind: 'invalid_number'; afterSecs: number }
  /** The carrier refuses to place the call at all. */
  | { kind: 'provider_error' };

export interface ScriptInput {
  seed: number;
  recipientId: string;
  attemptNumber: number;
  to: string | null;
  ringingTimeoutSecs: number;
}

const tableNumber = /^\+1\d{3}55501(\d{2})$/;

/**
 * The seeded distribution for numbers outside the table. A number that exists keeps existing,
 * so `invalid_number` is left to the table.
 */
export const randomOutcomeWeights = [
  ['answer', 0.65],
  ['no_answer', 0.15],
  ['busy', 0.08],
  ['voicemail', 0.1],
  ['provider_error', 0.02],
] as const;

export function scriptCall(input: ScriptInput): SimulatedScript {
  const draw = (salt: string) => unitHash(`${input.seed}:${input.recipientId}:${input.attemptNumber}:${salt}`);
  // Answers come before the ringing timeout so that the table's outcomes hold for any timeout.
  const ringSecs = Math.min(2 + draw('ring') * 8, input.ringingTimeoutSecs * 0.8);
  const talkSecs = 15 + draw('talk') * 75;
  const quickSecs = 0.2 + draw('quick') * 0.8;
  const kind = tableKind(input) ?? randomKind(draw('outcome'));
  switch (kind) {
    case 'answer':
      return { kind, ringSecs, talkSecs };
    case 'voicemail':
      return { kind, ringSecs, talkSecs: 5 + draw('greeting') * 15 };
    case 'busy':
    case 'invalid_number':
      return { kind, afterSecs: quickSecs };
    case 'no_answer':
    case 'provider_error':
      return { kind };
  }
}

type ScriptKind = SimulatedScript['kind'];

function tableKind(input: ScriptInput): ScriptKind | null {
  const match = input.to ? tableNumber.exec(input.to) : null;
  if (!match) return null;
  const nn = Number(match[1]);
  if (nn <= 49) return 'answer';
  if (nn <= 59) return 'no_answer';
  if (nn <= 64) return 'busy';
  if (nn <= 69) return 'voicemail';
  if (nn <= 74) return 'invalid_number';
  if (nn <= 79) return 'provider_error';
  if (nn <= 89) return input.attemptNumber >= 2 ? 'answer' : 'no_answer';
  return input.attemptNumber >= 3 ? 'answer' : 'no_answer';
}

function randomKind(unit: number): ScriptKind {
  let acc = 0;
  for (const [kind, weight] of randomOutcomeWeights) {
    acc += weight;
    if (unit < acc) return kind;
  }
  return 'answer';
}

/** FNV-1a over the string, then a murmur3 finaliser; uniform in [0, 1). */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x100000000;
}
