/**
 * What happens to a created call, step by step, in scripted (unscaled) seconds from the create.
 * The script comes from the simulator's `scriptCall`, so a number means the same outcome here as
 * in the simulator; this file only adds Twilio's intermediate statuses and its AMD results.
 */
import type { SimulatedScript } from '../../../src/telephony/simulated/outcomes.js';

/** Twilio's `AnsweredBy` values that the fake produces. */
export type AnsweredBy = 'human' | 'machine_end_beep' | 'machine_start';

export interface AmdRequest {
  /** `MachineDetection=DetectMessageEnd` (wait for the beep) rather than `Enable`. */
  detectMessageEnd: boolean;
  /** `AsyncAmd=true`: the result goes to `AsyncAmdStatusCallback` instead of onto the call's status callbacks. */
  async: boolean;
}

export type CallStep =
  | { atSecs: number; kind: 'initiated' }
  | { atSecs: number; kind: 'ringing' }
  /** `answeredBy` is set for synchronous AMD, whose result travels on the status callbacks. */
  | { atSecs: number; kind: 'answered'; answeredBy: AnsweredBy | null }
  | { atSecs: number; kind: 'amd_result'; answeredBy: AnsweredBy; detectionMs: number }
  | { atSecs: number; kind: 'ended'; status: 'busy' | 'completed' | 'no-answer'; talkSecs: number };

/** Scripts the create refuses (`invalid_number`, `provider_error`) have no timeline. */
export type PlaceableScript = Extract<SimulatedScript, { kind: 'answer' | 'busy' | 'no_answer' | 'voicemail' }>;

/** Seconds from the create until the far end reports ringing (a 180), capped for short rings. */
const ringingAfterSecs = 1;
/** How long Twilio's AMD takes to call a human a human: after the greeting, typically 2–3 s. */
const humanDetectionSecs = 2.5;
/** How long Twilio's AMD takes to recognise a machine greeting (`Enable`). */
const machineDetectionSecs = 3;
/** With `DetectMessageEnd` the beep comes at the end of the greeting; the caller then leaves a message. */
const beepAtShareOfGreeting = 0.8;

export function planCallTimeline(script: PlaceableScript, timeoutSecs: number, amd: AmdRequest | null): CallStep[] {
  const initiated: CallStep = { atSecs: 0, kind: 'initiated' };
  switch (script.kind) {
    case 'busy':
      // A busy line answers the INVITE with 486 before any 180, so there is no ringing step.
      return [initiated, { atSecs: script.afterSecs, kind: 'ended', status: 'busy', talkSecs: 0 }];
    case 'no_answer':
      return [
        initiated,
        { atSecs: Math.min(ringingAfterSecs, timeoutSecs / 2), kind: 'ringing' },
        { atSecs: timeoutSecs, kind: 'ended', status: 'no-answer', talkSecs: 0 },
      ];
    case 'answer':
    case 'voicemail': {
      const answerAt = script.ringSecs;
      const steps: CallStep[] = [initiated, { atSecs: Math.min(ringingAfterSecs, answerAt / 2), kind: 'ringing' }];
      const result = amd ? detect(script, amd) : null;
      steps.push({ atSecs: answerAt, kind: 'answered', answeredBy: result && !amd?.async ? result.answeredBy : null });
      if (result && amd?.async) {
        steps.push({ atSecs: answerAt + result.afterSecs, kind: 'amd_result', answeredBy: result.answeredBy, detectionMs: Math.round(result.afterSecs * 1000) });
      }
      steps.push({ atSecs: answerAt + script.talkSecs, kind: 'ended', status: 'completed', talkSecs: script.talkSecs });
      return steps;
    }
  }
}

function detect(script: Extract<PlaceableScript, { kind: 'answer' | 'voicemail' }>, amd: AmdRequest): { answeredBy: AnsweredBy; afterSecs: number } {
  if (script.kind === 'answer') return { answeredBy: 'human', afterSecs: Math.min(humanDetectionSecs, script.talkSecs / 2) };
  if (amd.detectMessageEnd) return { answeredBy: 'machine_end_beep', afterSecs: script.talkSecs * beepAtShareOfGreeting };
  return { answeredBy: 'machine_start', afterSecs: Math.min(machineDetectionSecs, script.talkSecs / 2) };
}
