import { Type, type TSchema } from 'typebox';

/**
 * An optional request field that may also be `null`: the official SDK sends `null` for a field
 * its caller set to `undefined`, so every optional field must take both.
 */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Union([schema, Type.Null()]));
}

/** Free-form JSON objects (overrides, custom LLM bodies): stored as received and echoed back. */
export const JsonObjectSchema = Type.Record(Type.String(), Type.Unknown());

export const TelephonyCallConfigSchema = Type.Object({
  ringing_timeout_secs: Nullable(Type.Integer({ minimum: 1, maximum: 600 })),
  twilio_call_recording_enabled: Nullable(Type.Boolean()),
  twilio_machine_detection: Nullable(
    Type.Object({ mode: Nullable(Type.Union([Type.Literal('enable'), Type.Literal('detect_message_end')])) }),
  ),
});

export const WhatsAppParamsSchema = Type.Object({
  whatsapp_phone_number_id: Nullable(Type.String()),
  whatsapp_call_permission_request_template_name: Type.String({ minLength: 1 }),
  whatsapp_call_permission_request_template_language_code: Type.String({ minLength: 1 }),
});

export const ClientDataSchema = Type.Object({
  conversation_config_override: Nullable(JsonObjectSchema),
  custom_llm_extra_body: Nullable(JsonObjectSchema),
  user_id: Nullable(Type.String()),
  source_info: Nullable(JsonObjectSchema),
  branch_id: Nullable(Type.String()),
  environment: Nullable(Type.String()),
  starting_workflow_node_id: Nullable(Type.String()),
  procedure_ids: Nullable(Type.Array(Type.String())),
  dynamic_variables: Nullable(JsonObjectSchema),
});

export const BatchIdParams = Type.Object({ batch_id: Type.String({ minLength: 1 }) });
