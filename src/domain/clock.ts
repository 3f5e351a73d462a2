/**
 * Time comes from an injected clock so tests and the simulator's time scale never depend on
 * `Date.now()` being called in engine code.
 */
export interface Clock {
  /** Unix milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function toUnixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
