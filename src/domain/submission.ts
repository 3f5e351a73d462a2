/**
 * Checks a batch submission completely before anything is written, and normalises it: phone
 * numbers to E.164, missing recipient ids generated, the dynamic variable names collected for
 * the export's columns. Every problem comes back as a FastAPI-style issue with its `loc`.
 */
import type { SubmitBody } from './wire/submit.js';
import { validationError, type ValidationIssue } from './errors.js';
import { newId, newRandomId } from './ids.js';
import type { Agent, JsonObject, NewBatch, NewRecipient, PhoneNumber, TelephonyCallConfig } from './types.js';

export interface SubmissionContext {
  workspaceId: string;
  agent: Agent | null;
  phoneNumber: PhoneNumber | null;
  now: number;
  defaultConcurrency: number;
  /** Whether this server can dial through the batch's phone number (or WhatsApp). */
  providerAvailable: (phoneNumber: PhoneNumber | null) => boolean;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** Each recipient's phone_number in E.164 (`toE164`), null where it has none or it is invalid. */
  normalisedPhoneNumbers: (string | null)[];
}

/** A start time more than this far ahead is taken for a mistake (milliseconds sent as seconds, a typo in the year). */
const maxScheduleAheadSecs = 366 * 24 * 3600;
const maxIssues = 50;

export function validateSubmission(body: SubmitBody, context: SubmissionContext): { batch: NewBatch; recipients: NewRecipient[] } {
  const issues: ValidationIssue[] = [];
  const issue = (loc: (string | number)[], msg: string, type = 'value_error') => {
    if (issues.length < maxIssues) issues.push({ loc: ['body', ...loc], msg, type });
  };

  if (!context.agent) issue(['agent_id'], `agent '${body.agent_id}' does not exist in this workspace; create it with POST /v1/convai/agents/create`);

  const whatsapp = body.whatsapp_params ?? null;
  const phoneNumberId = body.agent_phone_number_id ?? null;
  if (phoneNumberId !== null && !context.phoneNumber) {
    issue(['agent_phone_number_id'], `phone number '${phoneNumberId}' does not exist in this workspace; list yours with GET /v1/convai/phone-numbers`);
  }
  if (context.phoneNumber?.provider === 'whatsapp' && !whatsapp) {
    issue(['agent_phone_number_id'], `'${context.phoneNumber.id}' is a WhatsApp number; call from it with whatsapp_params and recipients' whatsapp_user_id`);
  }
  if (phoneNumberId === null && !whatsapp) {
    issue(['agent_phone_number_id'], 'a voice batch needs agent_phone_number_id (the number to call from); a WhatsApp batch needs whatsapp_params', 'missing');
  }
  if ((context.phoneNumber || whatsapp) && !context.providerAvailable(context.phoneNumber)) {
    const provider = context.phoneNumber?.provider ?? 'whatsapp';
    issue(
      context.phoneNumber ? ['agent_phone_number_id'] : ['whatsapp_params'],
      `this redial server cannot place '${provider}' calls yet; start it with --simulate to try the batch on the simulator`,
    );
  }

  const scheduled = body.scheduled_time_unix ?? null;
  if (scheduled !== null) {
    if (scheduled < 0) issue(['scheduled_time_unix'], 'must be a unix time in seconds, not negative');
    else if (scheduled > context.now / 1000 + maxScheduleAheadSecs) {
      issue(['scheduled_time_unix'], `${scheduled} is more than a year ahead; it must be unix seconds (not milliseconds)`);
    }
  }
  const timezone = body.timezone ?? null;
  if (timezone !== null && !isIanaZone(timezone)) issue(['timezone'], `'${timezone}' is not an IANA time zone name (like 'Europe/Paris' or 'America/New_York')`);

  if (body.recipients.length === 0) issue(['recipients'], 'at least one recipient is needed', 'too_short');

  const seen = new Map<string, number>();
  const variableNames = new Set<string>();
  const recipients: NewRecipient[] = new Array(body.recipients.length);
  for (let index = 0; index < body.recipients.length; index++) {
    const input = body.recipients[index]!;
    const phone = input.phone_number ?? null;
    const waUser = input.whatsapp_user_id ?? null;
    let normalised: string | null = null;
    if ((phone === null) === (waUser === null)) {
      issue(['recipients', index], 'give exactly one of phone_number or whatsapp_user_id', phone === null ? 'missing' : 'value_error');
    } else if (phone !== null) {
      if (whatsapp) issue(['recipients', index, 'phone_number'], 'a WhatsApp batch (with whatsapp_params) calls whatsapp_user_id, not phone_number');
      normalised = context.normalisedPhoneNumbers[index] ?? null;
      if (normalised === null) issue(['recipients', index, 'phone_number'], `'${phone}' is not a valid phone number; use E.164, like +14155550123`);
    } else if (!whatsapp) {
      issue(['recipients', index, 'whatsapp_user_id'], 'whatsapp_user_id needs whatsapp_params on the batch; a voice batch calls phone_number');
    } else if (waUser!.trim() === '') {
      issue(['recipients', index, 'whatsapp_user_id'], 'must not be empty');
    }
    const id = input.id ?? newRandomId('rcpt', 16);
    const first = seen.get(id);
    if (first !== undefined) issue(['recipients', index, 'id'], `id '${id}' is already used by recipients[${first}]; ids must be unique within a batch`);
    else seen.set(id, index);
    const clientData = (input.conversation_initiation_client_data ?? null) as JsonObject | null;
    const variables = clientData?.dynamic_variables;
    if (variables && typeof variables === 'object' && !Array.isArray(variables)) {
      for (const name of Object.keys(variables)) variableNames.add(name);
    }
    recipients[index] = { id, phoneNumber: normalised, whatsappUserId: phone === null ? waUser : null, clientData };
  }

  if (issues.length > 0) throw validationError(issues);
  const agent = context.agent!;
  return {
    batch: {
      id: newId('btcal'),
      workspaceId: context.workspaceId,
      name: body.call_name,
      agentId: agent.id,
      agentName: agent.name,
      phoneNumberId: context.phoneNumber?.id ?? null,
      phoneProvider: context.phoneNumber?.provider ?? null,
      whatsappParams: whatsapp
        ? {
            whatsapp_phone_number_id: whatsapp.whatsapp_phone_number_id ?? null,
            whatsapp_call_permission_request_template_name: whatsapp.whatsapp_call_permission_request_template_name,
            whatsapp_call_permission_request_template_language_code: whatsapp.whatsapp_call_permission_request_template_language_code,
          }
        : null,
      branchId: body.branch_id ?? null,
      environment: body.environment ?? null,
      timezone,
      scheduledAt: scheduled === null ? context.now : Math.max(0, scheduled * 1000),
      telephonyCallConfig: withoutNulls(body.telephony_call_config ?? {}) as TelephonyCallConfig,
      targetConcurrencyLimit: body.target_concurrency_limit ?? null,
      concurrencyLimit: body.target_concurrency_limit ?? context.defaultConcurrency,
      dynamicVariableNames: [...variableNames].sort(),
      idempotencyKey: context.idempotencyKey,
      requestHash: context.requestHash,
      createdAt: context.now,
    },
    recipients,
  };
}

const zoneCache = new Map<string, boolean>();

export function isIanaZone(name: string): boolean {
  let known = zoneCache.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      // Intl also takes offsets like '+01:00', which are not zone names.
      known = /^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name);
    } catch {
      known = false;
    }
    zoneCache.set(name, known);
  }
  return known;
}

/** Drops null-valued keys at every depth: the SDK sends null for unset optional fields. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) if (inner !== null) out[key] = withoutNulls(inner);
  return out;
}
