import type { AgentService } from '../engine/agent-service.js';
import type { BatchService } from '../engine/batch-service.js';
import type { PhoneNumberService } from '../engine/phone-number-service.js';

/** What the routes call; each handler validates, calls one of these, and serializes. */
export interface Services {
  agents: AgentService;
  batches: BatchService;
  phoneNumbers: PhoneNumberService;
}
