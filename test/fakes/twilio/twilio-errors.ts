/**
 * The Twilio error responses the fake can give, one registry so codes, statuses and messages
 * stay together. Messages are the ones Twilio is seen returning (helper-library issue threads
 * quote them, e.g. twilio/twilio-node#275 for 21205, TwilioDevEd/voice-javascript-sdk-quickstart-python#8
 * for 21201); where no real message was found the text is ours and says so in README.md.
 */

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export const twilioErrors = {
  authenticate: { code: 20003, status: 401, message: () => 'Authenticate' },
  callNotUpdatable: { code: 21220, status: 400, message: () => 'Call is not in-progress. Cannot redirect.' },
  internalError: { code: 20500, status: 500, message: () => 'Internal Server Error' },
  invalidFrom: { code: 21212, status: 400, message: (from: string) => `Invalid From Number (caller ID): ${from}` },
  invalidParameter: { code: 20001, status: 400, message: (detail: string) => detail },
  invalidTo: { code: 21211, status: 400, message: (to: string) => `Invalid 'To' Phone Number: ${to}` },
  methodNotAllowed: { code: 20004, status: 405, message: () => 'Method not allowed' },
  missingFrom: { code: 21213, status: 400, message: () => "No 'From' number is specified" },
  missingTo: { code: 21201, status: 400, message: () => "No 'To' number is specified" },
  missingUrl: {
    code: 21205,
    status: 400,
    message: () => 'Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml',
  },
  notFound: { code: 20404, status: 404, message: (path: string) => `The requested resource ${path} was not found` },
  serviceUnavailable: { code: 20503, status: 503, message: () => 'Service Unavailable' },
  tooManyRequests: { code: 20429, status: 429, message: () => 'Too Many Requests' },
} as const;

export type TwilioErrorName = keyof typeof twilioErrors;

export function buildTwilioError<N extends TwilioErrorName>(
  name: N,
  ...args: Parameters<(typeof twilioErrors)[N]['message']>
): TwilioErrorBody {
  const entry = twilioErrors[name];
  const message = (entry.message as (...a: string[]) => string)(...(args as string[]));
  return { code: entry.code, message, more_info: `https://www.twilio.com/docs/errors/${entry.code}`, status: entry.status };
}

/** The error body for an injected `status` fault. */
export function buildFaultError(status: 429 | 500 | 503): TwilioErrorBody {
  switch (status) {
    case 429:
      return buildTwilioError('tooManyRequests');
    case 500:
      return buildTwilioError('internalError');
    case 503:
      return buildTwilioError('serviceUnavailable');
  }
}
