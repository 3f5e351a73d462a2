import { Type, type Static } from 'typebox';
import { ConversationConfigSchema, JsonObjectSchema, Nullable } from './common.js';

/** redial's extension: where an answered call is handed to the agent. */
export const HandoffSchema = Type.Object(
  {
    stream_url: Nullable(Type.String({ pattern: '^wss?://', description: 'media-stream WebSocket URL (ws:// or wss://)' })),
    twiml_url: Nullable(Type.String({ pattern: '^https?://', description: 'URL that returns TwiML for the answered call' })),
    sip_uri: Nullable(Type.String({ pattern: '^sips?:', description: 'SIP URI of the agent, like sip:agent@example.com' })),
    sdp_url: Nullable(Type.String({ pattern: '^https?://', description: "for WhatsApp calls: the agent's HTTP endpoint that makes the SDP offer and takes the answer" })),
  },
  { additionalProperties: false },
);

export const AgentCreateBodySchema = Type.Object({
  conversation_config: ConversationConfigSchema,
  platform_settings: Nullable(JsonObjectSchema),
  workflow: Nullable(JsonObjectSchema),
  name: Nullable(Type.String({ maxLength: 512 })),
  tags: Nullable(Type.Array(Type.String())),
  handoff: Nullable(HandoffSchema),
});
export type AgentCreateBody = Static<typeof AgentCreateBodySchema>;

export const AgentUpdateBodySchema = Type.Object({
  conversation_config: Nullable(ConversationConfigSchema),
  platform_settings: Nullable(JsonObjectSchema),
  workflow: Nullable(JsonObjectSchema),
  name: Nullable(Type.String({ maxLength: 512 })),
  tags: Nullable(Type.Array(Type.String())),
  handoff: Nullable(HandoffSchema),
});
export type AgentUpdateBody = Static<typeof AgentUpdateBodySchema>;

export const AgentIdParams = Type.Object({ agent_id: Type.String({ minLength: 1 }) });

export const AgentListQuerySchema = Type.Object({
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  cursor: Type.Optional(Type.String()),
  search: Type.Optional(Type.String()),
});
