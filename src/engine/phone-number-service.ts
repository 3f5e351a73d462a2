import type { Clock } from '../domain/clock.js';
import { phoneNumberNotFound, RedialError, validationError, type ValidationIssue } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { toE164 } from '../domain/phone.js';
import type { Agent, JsonObject, PhoneNumber } from '../domain/types.js';
import type {
  InboundTrunk,
  OutboundTrunk,
  PhoneNumberCreateBody,
  PhoneNumberUpdateBody,
} from '../domain/wire/phone-numbers.js';
import type { Store } from '../store/store.js';

export class PhoneNumberService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async create(workspaceId: string, body: PhoneNumberCreateBody): Promise<PhoneNumber> {
    const issues: ValidationIssue[] = [];
    const issue = (loc: string[], msg: string, type = 'value_error') => issues.push({ loc: ['body', ...loc], msg, type });
    const e164 = toE164(body.phone_number);
    if (!e164) issue(['phone_number'], `'${body.phone_number}' is not a valid phone number; use E.164, like +14155550123`);
    if (body.provider === 'exotel') issue(['provider'], "redial does not support 'exotel' numbers; use 'twilio', 'sip_trunk' or 'whatsapp'");
    if (body.provider === 'twilio') {
      if (!body.sid) issue(['sid'], 'a Twilio number needs sid (the Account SID AC… or an API Key SID SK…)', 'missing');
      else if (!/^(AC|SK)[0-9a-fA-F]{32}$/.test(body.sid)) issue(['sid'], 'must be an Account SID (AC + 32 hex digits) or an API Key SID (SK + 32 hex digits)');
      else if (body.sid.startsWith('SK') && !body.account_sid) issue(['account_sid'], 'an API Key SID (SK…) needs account_sid, the AC… account it belongs to', 'missing');
      else if (body.sid.startsWith('SK') && !body.account_auth_token) {
        issue(['account_auth_token'], "an API Key SID (SK…) needs account_auth_token: Twilio signs its callbacks with the account's auth token, not the key's secret", 'missing');
      }
      if (!body.token) issue(['token'], 'a Twilio number needs token (the auth token or API key secret)', 'missing');
    }
    if (body.provider === 'whatsapp') {
      for (const field of ['whatsapp_phone_number_id', 'access_token', 'app_secret', 'webhook_verify_token'] as const) {
        if (!body[field]) issue([field], `a WhatsApp number needs ${field}`, 'missing');
      }
    }
    if (body.agent_id && !(await this.store.agentGet(workspaceId, body.agent_id))) {
      issue(['agent_id'], `agent '${body.agent_id}' does not exist in this workspace`);
    }
    if (issues.length > 0) throw validationError(issues);
    const now = this.clock.now();
    const config: JsonObject = {};
    const secrets: JsonObject = {};
    if (body.provider === 'twilio') {
      config.sid = body.sid!;
      if (body.account_sid) config.account_sid = body.account_sid;
      if (body.enable_sms !== undefined && body.enable_sms !== null) config.enable_sms = body.enable_sms;
      secrets.token = body.token!;
      if (body.account_auth_token) secrets.account_auth_token = body.account_auth_token;
      if (body.region_config) secrets.region_config = body.region_config as JsonObject;
    }
    if (body.provider === 'whatsapp') {
      config.whatsapp_phone_number_id = body.whatsapp_phone_number_id!;
      if (body.whatsapp_business_account_id) config.whatsapp_business_account_id = body.whatsapp_business_account_id;
    }
    applySecrets(secrets, body);
    const callsPerSecond = body.calls_per_second ?? defaultCallsPerSecond[body.provider];
    if (callsPerSecond !== undefined) config.calls_per_second = callsPerSecond;
    if (body.provider === 'sip_trunk') {
      applyTrunks(config, secrets, body.outbound_trunk_config, body.inbound_trunk_config);
    }
    const phoneNumber: PhoneNumber = {
      id: newId('phnum'),
      workspaceId,
      provider: body.provider as PhoneNumber['provider'],
      phoneNumber: e164!,
      label: body.label,
      agentId: body.agent_id ?? null,
      supportsInbound: body.supports_inbound ?? null,
      supportsOutbound: body.supports_outbound ?? null,
      config,
      secrets,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.phoneNumberInsert(phoneNumber);
    return phoneNumber;
  }

  async get(workspaceId: string, phoneNumberId: string): Promise<{ phoneNumber: PhoneNumber; agent: Agent | null }> {
    const phoneNumber = await this.store.phoneNumberGet(workspaceId, phoneNumberId);
    if (!phoneNumber) throw phoneNumberNotFound(phoneNumberId);
    const agent = phoneNumber.agentId ? await this.store.agentGet(workspaceId, phoneNumber.agentId) : null;
    return { phoneNumber, agent };
  }

  async list(workspaceId: string, query: { agentId: string | null; provider: string | null }): Promise<{ phoneNumber: PhoneNumber; agent: Agent | null }[]> {
    const numbers = await this.store.phoneNumberList({ workspaceId, ...query });
    const agents = new Map<string, Agent | null>();
    for (const number of numbers) {
      if (number.agentId && !agents.has(number.agentId)) agents.set(number.agentId, await this.store.agentGet(workspaceId, number.agentId));
    }
    return numbers.map((phoneNumber) => ({ phoneNumber, agent: phoneNumber.agentId ? (agents.get(phoneNumber.agentId) ?? null) : null }));
  }

  async update(workspaceId: string, phoneNumberId: string, body: PhoneNumberUpdateBody): Promise<{ phoneNumber: PhoneNumber; agent: Agent | null }> {
    const { phoneNumber } = await this.get(workspaceId, phoneNumberId);
    let agent: Agent | null = null;
    const agentId = body.agent_id ?? phoneNumber.agentId;
    if (agentId) {
      agent = await this.store.agentGet(workspaceId, agentId);
      if (!agent && body.agent_id) throw validationError([{ loc: ['body', 'agent_id'], msg: `agent '${body.agent_id}' does not exist in this workspace`, type: 'value_error' }]);
    }
    const config = { ...phoneNumber.config };
    const secrets = { ...phoneNumber.secrets };
    if (phoneNumber.provider === 'sip_trunk') {
      applyTrunks(config, secrets, body.outbound_trunk_config, body.inbound_trunk_config);
      if (body.livekit_stack) config.livekit_stack = body.livekit_stack;
      if (body.store_sip_messages !== undefined && body.store_sip_messages !== null) config.store_sip_messages = body.store_sip_messages;
    } else if (body.outbound_trunk_config || body.inbound_trunk_config) {
      throw validationError([
        { loc: ['body', 'outbound_trunk_config'], msg: `trunk settings apply to sip_trunk numbers; this one is '${phoneNumber.provider}'`, type: 'value_error' },
      ]);
    }
    if (body.calls_per_second !== undefined && body.calls_per_second !== null) config.calls_per_second = body.calls_per_second;
    if (body.token && phoneNumber.provider === 'twilio') secrets.token = body.token;
    if (phoneNumber.provider === 'whatsapp') applySecrets(secrets, body);
    const updated: PhoneNumber = {
      ...phoneNumber,
      label: body.label ?? phoneNumber.label,
      agentId: agent ? agent.id : null,
      config,
      secrets,
      updatedAt: this.clock.now(),
    };
    await this.store.phoneNumberUpdate(updated);
    return { phoneNumber: updated, agent };
  }

  async delete(workspaceId: string, phoneNumberId: string): Promise<void> {
    const outcome = await this.store.phoneNumberDelete(workspaceId, phoneNumberId);
    if (outcome === 'not_found') throw phoneNumberNotFound(phoneNumberId);
    if (outcome === 'in_use') {
      throw new RedialError('phone_number_in_use', `Phone number '${phoneNumberId}' is used by a pending or running batch; cancel the batch first.`);
    }
  }
}

/** Twilio's own default is one call per second per number; other carriers set none here. */
const defaultCallsPerSecond: Partial<Record<string, number>> = { twilio: 1 };

function applySecrets(secrets: JsonObject, body: { access_token?: string | null; app_secret?: string | null; webhook_verify_token?: string | null }): void {
  if (body.access_token) secrets.access_token = body.access_token;
  if (body.app_secret) secrets.app_secret = body.app_secret;
  if (body.webhook_verify_token) secrets.webhook_verify_token = body.webhook_verify_token;
}

/** Splits trunk settings into what may be shown and the passwords, which never leave the store. */
function applyTrunks(config: JsonObject, secrets: JsonObject, outbound?: OutboundTrunk | null, inbound?: InboundTrunk | null): void {
  if (outbound) {
    const password = outbound.credentials?.password;
    if (typeof password === 'string') secrets.outbound_password = password;
    const username = outbound.credentials?.username ?? null;
    if (!username) delete secrets.outbound_password;
    config.outbound_trunk = dropNulls({
      address: outbound.address,
      transport: outbound.transport ?? 'auto',
      media_encryption: outbound.media_encryption ?? 'disabled',
      has_auth_credentials: username !== null,
      has_outbound_trunk: true,
      username,
      headers: outbound.headers ?? null,
      attributes_to_headers: outbound.attributes_to_headers ?? null,
      enabled_codecs: outbound.enabled_codecs ?? null,
    });
  }
  if (inbound) {
    const password = inbound.credentials?.password;
    if (typeof password === 'string') secrets.inbound_password = password;
    const username = inbound.credentials?.username ?? null;
    config.inbound_trunk = dropNulls({
      allowed_addresses: inbound.allowed_addresses ?? [],
      media_encryption: inbound.media_encryption ?? 'disabled',
      has_auth_credentials: username !== null,
      username,
      allowed_numbers: inbound.allowed_numbers ?? null,
      remote_domains: inbound.remote_domains ?? null,
      attributes_to_headers: inbound.attributes_to_headers ?? null,
    });
  }
}

function dropNulls(value: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== null)) as JsonObject;
}
