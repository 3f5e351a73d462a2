/**
 * Graph API error bodies as Meta sends them: `{ error: { message, type, code, error_subcode?,
 * error_data?, fbtrace_id } }`. Messages follow Meta's "(#code) text" form.
 */
import { randomBytes } from 'node:crypto';

export interface GraphErrorAnswer {
  status: number;
  body: { error: Record<string, unknown> };
}

function graphError(status: number, fields: Record<string, unknown>): GraphErrorAnswer {
  return { status, body: { error: { ...fields, fbtrace_id: `A${randomBytes(9).toString('base64url')}` } } };
}

export function invalidToken(): GraphErrorAnswer {
  return graphError(401, { message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 });
}

export function expiredToken(): GraphErrorAnswer {
  return graphError(401, {
    message: 'Error validating access token: Session has expired on Tuesday, 01-Jan-30 00:00:00 PST.',
    type: 'OAuthException',
    code: 190,
    error_subcode: 463,
  });
}

export function unknownObject(id: string): GraphErrorAnswer {
  return graphError(400, {
    message: `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    type: 'GraphMethodException',
    code: 100,
    error_subcode: 33,
  });
}

export function invalidParameter(details: string): GraphErrorAnswer {
  return graphError(400, { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, error_data: { messaging_product: 'whatsapp', details } });
}

export function templateMissing(name: string, language: string): GraphErrorAnswer {
  return graphError(404, {
    message: '(#132001) Template name does not exist in the translation',
    type: 'OAuthException',
    code: 132001,
    error_data: { messaging_product: 'whatsapp', details: `template name (${name}) does not exist in ${language}` },
  });
}

export function recipientNotAllowed(): GraphErrorAnswer {
  return graphError(400, {
    message: '(#131030) Recipient phone number not in allowed list',
    type: 'OAuthException',
    code: 131030,
    error_data: { messaging_product: 'whatsapp', details: 'Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again.' },
  });
}

export function noCallPermission(): GraphErrorAnswer {
  return graphError(400, {
    message: '(#138006) No approved call permission from the recipient',
    type: 'OAuthException',
    code: 138006,
    error_data: { messaging_product: 'whatsapp', details: 'The business phone number does not have an approved call permission from this WhatsApp user.' },
  });
}

export function receiverUncallable(): GraphErrorAnswer {
  return graphError(400, { message: '(#138001) Receiver is uncallable', type: 'OAuthException', code: 138001, error_data: { messaging_product: 'whatsapp', details: 'Receiver is uncallable' } });
}

export function callNotActive(callId: string): GraphErrorAnswer {
  return invalidParameter(`Call ${callId} is not active; it was already terminated or does not exist.`);
}

/** What the fake answers for an injected 429/500/503. */
export function forStatus(status: 429 | 500 | 503): GraphErrorAnswer {
  switch (status) {
    case 429:
      return graphError(429, { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429, error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' } });
    case 500:
      return graphError(500, { message: 'An unknown error has occurred.', type: 'OAuthException', code: 1, is_transient: true });
    case 503:
      return graphError(503, { message: 'Service temporarily unavailable', type: 'OAuthException', code: 2, is_transient: true });
  }
}
