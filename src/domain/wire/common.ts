/**
 * Request shapes of the ElevenLabs API (contract/elevenlabs-api.md) as TypeBox schemas. They live
 * in the domain, not under api/, because the services take the validated bodies as they are:
 * routes validate with these schemas, and engine and domain code use their static types, so
 * nothing outside api/ imports from api/.
 */
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

const Text = Nullable(Type.String());
const Texts = Nullable(Type.Array(Type.String()));

/**
 * The typed parts of an agent's conversation config, as the official SDK parses them back
 * (contract §3.5). redial stores these objects as given and echoes them, so a wrong type let in
 * here (say `tts.stability: "high"` from curl) would make every later SDK read of the batch or
 * agent throw; it is refused with a 422 instead. Keys not listed here pass through unchecked.
 */
export const ConversationConfigSchema = Type.Object({
  asr: Nullable(Type.Object({ keywords: Texts })),
  turn: Nullable(Type.Object({ soft_timeout_config: Nullable(Type.Object({ message: Text, additional_soft_timeout_messages: Texts })) })),
  tts: Nullable(
    Type.Object({
      model_id: Text,
      voice_id: Text,
      supported_voices: Nullable(Type.Array(Type.Object({ label: Type.String(), voice_id: Type.String() }))),
      stability: Nullable(Type.Number()),
      speed: Nullable(Type.Number()),
      similarity_boost: Nullable(Type.Number()),
      pronunciation_dictionary_locators: Nullable(Type.Array(Type.Object({ pronunciation_dictionary_id: Type.String() }))),
    }),
  ),
  conversation: Nullable(Type.Object({ text_only: Nullable(Type.Boolean()), max_duration_seconds: Nullable(Type.Integer()) })),
  agent: Nullable(
    Type.Object({
      first_message: Text,
      language: Text,
      max_conversation_duration_message: Text,
      prompt: Nullable(
        Type.Object({
          prompt: Text,
          llm: Text,
          tool_ids: Texts,
          tool_ids_strict: Nullable(Type.Boolean()),
          native_mcp_server_ids: Texts,
          knowledge_base: Nullable(Type.Array(Type.Object({ type: Type.String(), name: Type.String(), id: Type.String() }))),
        }),
      ),
    }),
  ),
});

export const ClientDataSchema = Type.Object({
  conversation_config_override: Nullable(ConversationConfigSchema),
  custom_llm_extra_body: Nullable(JsonObjectSchema),
  user_id: Nullable(Type.String()),
  source_info: Nullable(Type.Object({ source: Text, version: Text })),
  branch_id: Nullable(Type.String()),
  environment: Nullable(Type.String()),
  starting_workflow_node_id: Nullable(Type.String()),
  procedure_ids: Nullable(Type.Array(Type.String())),
  dynamic_variables: Nullable(JsonObjectSchema),
});

export const BatchIdParams = Type.Object({ batch_id: Type.String({ minLength: 1 }) });
