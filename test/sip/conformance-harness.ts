/**
 * The sip_trunk provider for the provider conformance suite (test/telephony/conformance.test.ts):
 * add `sipTrunkHarness` to its `harnesses`. The far end is the number-table sipp trunk and agent
 * from trunk.ts; the user agent listens on 127.0.0.2 (sipp is on 127.0.0.1).
 */
import type { PhoneNumber } from '../../src/domain/types.js';
import { createSipTrunkProvider } from '../../src/telephony/sip_trunk/provider.js';
import { tableNumber } from '../helpers/fixtures.js';
import { agent, RecordingSink, RequestBook, type ProviderHarness } from '../telephony/harness.js';
import { uaHost } from './helpers.js';
import { startSipTable } from './trunk.js';

export const sipTrunkHarness: ProviderHarness = {
  name: 'sip_trunk (sipp)',
  // Answering machines are invisible to SIP signalling (see src/telephony/sip_trunk/README.md).
  unsupported: ['voicemail'],
  async start() {
    const table = await startSipTable({ talkMs: 200 });
    const phoneNumber: PhoneNumber = {
      id: 'phnum_sip_trunk',
      workspaceId: 'ws',
      provider: 'sip_trunk',
      phoneNumber: '+14155550100',
      label: 'trunk',
      agentId: null,
      supportsInbound: null,
      supportsOutbound: true,
      config: { outbound_trunk: { address: table.trunkAddress, transport: 'udp', media_encryption: 'disabled', has_auth_credentials: false, has_outbound_trunk: true } },
      secrets: {},
      createdAt: 1,
      updatedAt: 1,
    };
    const book = new RequestBook(phoneNumber);
    const sink = new RecordingSink();
    const provider = createSipTrunkProvider(book.context(sink, null), { listen: { host: uaHost, port: 0 } });
    const sipAgent = { ...agent, handoff: { ...agent.handoff, sipUri: table.agentUri } };
    return {
      provider,
      sink,
      // Unanswered table numbers ring until the ringing timeout: keep it short, except for the
      // hang-up test, which asks for a long one.
      request: (nn, overrides) =>
        book.request(tableNumber(nn, 505), { agent: sipAgent, ...overrides, ringingTimeoutSecs: overrides?.ringingTimeoutSecs === 600 ? 600 : 1 }),
      farEndEnded: async (providerCallId) => table.dialogs().some((dialog) => dialog.callId === providerCallId && dialog.end !== null),
      close: async () => {
        await provider.close();
        await table.stop();
      },
    };
  },
};
