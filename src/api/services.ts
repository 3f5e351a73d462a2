import type { AgentService } from '../engine/agent-service.js';
import type { BatchService } from '../engine/batch-service.js';
import type { OutboundCallService } from '../engine/outbound-call-service.js';
import type { PhoneNumberService } from '../engine/phone-number-service.js';
import type { Provider } from '../telephony/provider.js';

/** What the routes call; each handler validates, calls one of these, and serializes. */
export interface Services {
  agents: AgentService;
  batches: BatchService;
  phoneNumbers: PhoneNumberService;
  calls: OutboundCallService;
  callbacks: {
    /** `--public-url` without a trailing slash; null when not set. */
    publicUrl: string | null;
    provider(name: string): Provider | null;
  };
}
