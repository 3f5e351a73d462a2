import { Type, type Static } from 'typebox';
import { ClientDataSchema, Nullable, TelephonyCallConfigSchema } from './common.js';

/** `POST /v1/convai/twilio/outbound-call` and `/v1/convai/sip-trunk/outbound-call`. */
export const PhoneOutboundCallBodySchema = Type.Object({
  agent_id: Type.String({ minLength: 1 }),
  agent_phone_number_id: Type.String({ minLength: 1 }),
  to_number: Type.String({ minLength: 1 }),
  conversation_initiation_client_data: Nullable(ClientDataSchema),
  call_recording_enabled: Nullable(Type.Boolean()),
  telephony_call_config: Nullable(TelephonyCallConfigSchema),
});
export type PhoneOutboundCallBody = Static<typeof PhoneOutboundCallBodySchema>;

/** `POST /v1/convai/whatsapp/outbound-call`. */
export const WhatsAppOutboundCallBodySchema = Type.Object({
  whatsapp_phone_number_id: Type.String({ minLength: 1 }),
  whatsapp_user_id: Type.String({ minLength: 1 }),
  whatsapp_call_permission_request_template_name: Type.String({ minLength: 1 }),
  whatsapp_call_permission_request_template_language_code: Type.String({ minLength: 1 }),
  agent_id: Type.String({ minLength: 1 }),
  conversation_initiation_client_data: Nullable(ClientDataSchema),
});
export type WhatsAppOutboundCallBody = Static<typeof WhatsAppOutboundCallBodySchema>;
