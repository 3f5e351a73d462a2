import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
let lastTime = 0;
let counter = 0;

/**
 * Time-ordered ids (millisecond time, then a per-process counter, then randomness), so that
 * ordering by id is ordering by creation: the batch list's keyset pagination relies on it.
 */
export function newId(prefix: string): string {
  const now = Date.now();
  counter = now === lastTime ? counter + 1 : 0;
  lastTime = now;
  return `${prefix}_${encode(now, 9)}${encode(counter, 3)}${randomPart(10)}`;
}

/** Random ids for things whose order does not matter (recipient ids, conversation ids). */
export function newRandomId(prefix: string, length = 20): string {
  return `${prefix}_${randomPart(length)}`;
}

function encode(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = alphabet[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomPart(length: number): string {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(Math.max(4096, length));
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[pool[poolOffset + i]! & 31];
  poolOffset += length;
  return out;
}
