/**
 * How an answered Twilio call reaches the agent, from the agent's `handoff`: a media stream
 * (`<Connect><Stream>`, the recipient's dynamic variables as `<Parameter>`s), a SIP URI
 * (`<Dial><Sip>`), or the user's own TwiML URL (Twilio fetches it).
 */
import twilio from 'twilio';
import type { Json } from '../../domain/types.js';
import type { PlaceCallRequest } from '../provider.js';

/** The create-call parameters that carry the hand-off (`Twiml` or `Url`), or null when the agent has none. */
export function twimlFor(request: PlaceCallRequest): { twiml: string } | { url: string } | null {
  const handoff = request.agent.handoff;
  if (handoff?.streamUrl) {
    const response = new twilio.twiml.VoiceResponse();
    const stream = response.connect().stream({ url: handoff.streamUrl });
    for (const [name, value] of Object.entries(streamParameters(request))) stream.parameter({ name, value });
    return { twiml: response.toString() };
  }
  if (handoff?.sipUri) {
    const response = new twilio.twiml.VoiceResponse();
    response.dial().sip(handoff.sipUri);
    return { twiml: response.toString() };
  }
  if (handoff?.twimlUrl) return { url: handoff.twimlUrl };
  return null;
}

/** redial's ids first, so the agent can report back, then the recipient's dynamic variables. */
function streamParameters(request: PlaceCallRequest): Record<string, string> {
  const parameters: Record<string, string> = {
    redial_batch_id: request.batchId,
    redial_recipient_id: request.recipientId,
    redial_attempt: String(request.attemptNumber),
  };
  const variables = request.clientData?.dynamic_variables;
  if (variables && typeof variables === 'object' && !Array.isArray(variables)) {
    for (const [name, value] of Object.entries(variables)) parameters[name] = text(value);
  }
  return parameters;
}

function text(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
