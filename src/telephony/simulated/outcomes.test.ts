import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomOutcomeWeights, scriptCall, unitHash } from './outcomes.js';

const input = (to: string | null, attemptNumber = 1, recipientId = 'r1') => ({ seed: 1, recipientId, attemptNumber, to, ringingTimeoutSecs: 60 });

describe('simulated outcomes', () => {
  it('follows the 555-01NN table', () => {
    assert.equal(scriptCall(input('+12025550100')).kind, 'answer');
    assert.equal(scriptCall(input('+12025550149')).kind, 'answer');
    assert.equal(scriptCall(input('+12025550150')).kind, 'no_answer');
    assert.equal(scriptCall(input('+12025550160')).kind, 'busy');
    assert.equal(scriptCall(input('+12025550165')).kind, 'voicemail');
    assert.equal(scriptCall(input('+12025550170')).kind, 'invalid_number');
    assert.equal(scriptCall(input('+12025550175')).kind, 'provider_error');
    assert.equal(scriptCall(input('+12025550180', 1)).kind, 'no_answer');
    assert.equal(scriptCall(input('+12025550180', 2)).kind, 'answer');
    assert.equal(scriptCall(input('+12025550199', 2)).kind, 'no_answer');
    assert.equal(scriptCall(input('+12025550199', 3)).kind, 'answer');
  });

  it('is a pure function of seed, recipient and attempt', () => {
    for (let i = 0; i < 50; i++) assert.deepEqual(scriptCall(input('+12125552000', 1, `r${i}`)), scriptCall(input('+12125552000', 1, `r${i}`)));
    const a = Array.from({ length: 50 }, (_, i) => scriptCall(input('+12125552000', 1, `r${i}`)).kind).join();
    const b = Array.from({ length: 50 }, (_, i) => scriptCall({ ...input('+12125552000', 1, `r${i}`), seed: 2 }).kind).join();
    assert.notEqual(a, b, 'another seed gives other outcomes');
  });

  it('draws outside the table with the documented weights', () => {
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const kind = scriptCall(input('+12125552000', 1, `rec-${i}`)).kind;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    for (const [kind, weight] of randomOutcomeWeights) {
      const share = (counts.get(kind) ?? 0) / n;
      assert.ok(Math.abs(share - weight) < 0.015, `${kind}: ${share} vs ${weight}`);
    }
    assert.equal(counts.get('invalid_number'), undefined);
  });

  it('keeps answers inside the ringing timeout and durations in the documented ranges', () => {
    for (let i = 0; i < 200; i++) {
      const script = scriptCall({ ...input('+12025550101', 1, `x${i}`), ringingTimeoutSecs: 5 });
      assert.equal(script.kind, 'answer');
      if (script.kind !== 'answer') continue;
      assert.ok(script.ringSecs >= 2 && script.ringSecs <= 4, `ring ${script.ringSecs}`);
      assert.ok(script.talkSecs >= 15 && script.talkSecs <= 90, `talk ${script.talkSecs}`);
    }
  });

  it('hashes uniformly into [0, 1)', () => {
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const value = unitHash(`k${i}`);
      assert.ok(value >= 0 && value < 1);
      sum += value;
    }
    assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
  });
});
