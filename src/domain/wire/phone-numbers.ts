import { Type, type Static } from 'typebox';
import { Nullable } from './common.js';

const CredentialsSchema = Type.Object({
  username: Type.String({ minLength: 1 }),
  password: Nullable(Type.String()),
});

const MediaEncryption = Type.Union([Type.Literal('disabled'), Type.Literal('allowed'), Type.Literal('required')]);

export const OutboundTrunkSchema = Type.Object({
  address: Type.String({ minLength: 1 }),
  transport: Nullable(Type.Union([Type.Literal('auto'), Type.Literal('udp'), Type.Literal('tcp'), Type.Literal('tls')])),
  media_encryption: Nullable(MediaEncryption),
  headers: Nullable(Type.Record(Type.String(), Type.String())),
  attributes_to_headers: Nullable(Type.Record(Type.String(), Type.String())),
  credentials: Nullable(CredentialsSchema),
  enabled_codecs: Nullable(Type.Array(Type.Union([Type.Literal('G722/8000'), Type.Literal('PCMU/8000'), Type.Literal('PCMA/8000')]))),
});
export type OutboundTrunk = Static<typeof OutboundTrunkSchema>;

export const InboundTrunkSchema = Type.Object({
  allowed_addresses: Nullable(Type.Array(Type.String())),
  allowed_numbers: Nullable(Type.Array(Type.String())),
  media_encryption: Nullable(MediaEncryption),
  credentials: Nullable(CredentialsSchema),
  remote_domains: Nullable(Type.Array(Type.String())),
  attributes_to_headers: Nullable(Type.Record(Type.String(), Type.String())),
});
export type InboundTrunk = Static<typeof InboundTrunkSchema>;

/**
 * redial's extensions, on create and update: pacing, and the secrets of a WhatsApp number (its
 * Graph API access token, the app secret that signs webhooks, the webhook verify token) and a
 * Twilio token to rotate.
 */
const redialPhoneNumberFields = {
  calls_per_second: Nullable(Type.Number({ minimum: 0.01, maximum: 1000 })),
  access_token: Nullable(Type.String({ minLength: 1 })),
  app_secret: Nullable(Type.String({ minLength: 1 })),
  webhook_verify_token: Nullable(Type.String({ minLength: 1 })),
};

/**
 * The create body is a union on `provider`; it is checked as one object here and per provider in
 * the service, which gives clearer errors than a JSON-schema `oneOf` would.
 */
export const PhoneNumberCreateBodySchema = Type.Object({
  provider: Type.Union([Type.Literal('twilio'), Type.Literal('sip_trunk'), Type.Literal('simulated'), Type.Literal('whatsapp'), Type.Literal('exotel')]),
  phone_number: Type.String({ minLength: 1 }),
  label: Type.String(),
  supports_inbound: Nullable(Type.Boolean()),
  supports_outbound: Nullable(Type.Boolean()),
  agent_id: Nullable(Type.String()),
  sid: Nullable(Type.String()),
  token: Nullable(Type.String()),
  account_auth_token: Nullable(Type.String()),
  region_config: Nullable(Type.Record(Type.String(), Type.Unknown())),
  enable_sms: Nullable(Type.Boolean()),
  inbound_trunk_config: Nullable(InboundTrunkSchema),
  outbound_trunk_config: Nullable(OutboundTrunkSchema),
  ...redialPhoneNumberFields,
  /** redial: the account an API Key SID (SK…) belongs to. */
  account_sid: Nullable(Type.String({ pattern: '^AC[0-9a-fA-F]{32}$' })),
  whatsapp_phone_number_id: Nullable(Type.String({ minLength: 1 })),
  whatsapp_business_account_id: Nullable(Type.String({ minLength: 1 })),
});
export type PhoneNumberCreateBody = Static<typeof PhoneNumberCreateBodySchema>;

export const PhoneNumberUpdateBodySchema = Type.Object({
  agent_id: Nullable(Type.String()),
  label: Nullable(Type.String()),
  inbound_trunk_config: Nullable(InboundTrunkSchema),
  outbound_trunk_config: Nullable(OutboundTrunkSchema),
  livekit_stack: Nullable(Type.Union([Type.Literal('standard'), Type.Literal('static')])),
  store_sip_messages: Nullable(Type.Boolean()),
  environment: Nullable(Type.String()),
  branch_id: Nullable(Type.String()),
  ...redialPhoneNumberFields,
  token: Nullable(Type.String({ minLength: 1 })),
});
export type PhoneNumberUpdateBody = Static<typeof PhoneNumberUpdateBodySchema>;

export const PhoneNumberIdParams = Type.Object({ phone_number_id: Type.String({ minLength: 1 }) });

export const PhoneNumberListQuerySchema = Type.Object({
  provider: Type.Optional(Type.String()),
  agent_id: Type.Optional(Type.String()),
  branch_id: Type.Optional(Type.String()),
});
