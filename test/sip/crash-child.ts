/**
 * A redial process that dies mid-call, for reclaim.test.ts: it places the call given as JSON in
 * argv[2], prints every report as a JSON line, and runs until the test kills it with SIGKILL
 * (no BYE, no CANCEL: a crash).
 */
import { pino } from 'pino';
import type { PlaceCallRequest } from '../../src/telephony/provider.js';
import { createSipTrunkProvider } from '../../src/telephony/sip_trunk/provider.js';
import { uaHost } from './helpers.js';

const request = JSON.parse(process.argv[2] ?? '{}') as PlaceCallRequest;
const provider = createSipTrunkProvider(
  {
    sink: { report: (events) => events.forEach((event) => process.stdout.write(`${JSON.stringify(event)}\n`)), recordExchanges: () => undefined },
    logger: pino({ level: 'silent' }),
    clock: { now: () => Date.now() },
    directory: { attempt: async () => null, phoneNumber: async () => null },
    publicUrl: null,
  },
  { listen: { host: uaHost, port: 0 } },
);
await provider.placeCall(request);
setInterval(() => undefined, 60_000);
