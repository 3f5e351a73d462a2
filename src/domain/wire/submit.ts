import { Type, type Static } from 'typebox';
import { ClientDataSchema, Nullable, TelephonyCallConfigSchema, WhatsAppParamsSchema } from './common.js';

export const SubmitRecipientSchema = Type.Object({
  id: Nullable(Type.String({ minLength: 1, maxLength: 256 })),
  phone_number: Nullable(Type.String()),
  whatsapp_user_id: Nullable(Type.String()),
  conversation_initiation_client_data: Nullable(ClientDataSchema),
});

export const SubmitBodySchema = Type.Object({
  call_name: Type.String({ minLength: 1, maxLength: 512 }),
  agent_id: Type.String({ minLength: 1 }),
  recipients: Type.Array(SubmitRecipientSchema),
  scheduled_time_unix: Nullable(Type.Integer()),
  agent_phone_number_id: Nullable(Type.String()),
  whatsapp_params: Nullable(WhatsAppParamsSchema),
  timezone: Nullable(Type.String()),
  branch_id: Nullable(Type.String()),
  environment: Nullable(Type.String()),
  telephony_call_config: Nullable(TelephonyCallConfigSchema),
  target_concurrency_limit: Nullable(Type.Integer({ minimum: 1, maximum: 100000 })),
});
export type SubmitBody = Static<typeof SubmitBodySchema>;
export type SubmitRecipient = Static<typeof SubmitRecipientSchema>;
