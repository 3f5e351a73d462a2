import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PhoneOutboundCallBodySchema, WhatsAppOutboundCallBodySchema } from '../../../../domain/wire/outbound-call.js';
import type { OutboundCallResult } from '../../../../engine/outbound-call-service.js';
import type { Services } from '../../../services.js';

/** The single-call routes; their responses differ only in the carrier's call id key (`callSid` is camelCase on the wire). */
export function registerOutboundCalls(app: FastifyInstance, services: Services): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.post('/v1/convai/twilio/outbound-call', { schema: { body: PhoneOutboundCallBodySchema } }, async (request) =>
    wire(await services.calls.placePhoneCall(request.workspaceId, 'twilio', request.body), 'callSid'),
  );
  typed.post('/v1/convai/sip-trunk/outbound-call', { schema: { body: PhoneOutboundCallBodySchema } }, async (request) =>
    wire(await services.calls.placePhoneCall(request.workspaceId, 'sip_trunk', request.body), 'sip_call_id'),
  );
  typed.post('/v1/convai/whatsapp/outbound-call', { schema: { body: WhatsAppOutboundCallBodySchema } }, async (request) =>
    wire(await services.calls.placeWhatsAppCall(request.workspaceId, request.body), null),
  );
}

function wire(result: OutboundCallResult, callIdKey: 'callSid' | 'sip_call_id' | null): Record<string, unknown> {
  return {
    success: result.success,
    message: result.message,
    ...(result.conversationId ? { conversation_id: result.conversationId } : {}),
    ...(callIdKey && result.providerCallId ? { [callIdKey]: result.providerCallId } : {}),
    // redial's addition: the one-recipient batch that carries the call, to follow it.
    batch_id: result.batchId,
  };
}
