import { createHmac } from 'node:crypto';

/**
 * Twilio's `X-Twilio-Signature`: HMAC-SHA1 keyed with the account's auth token over the full
 * URL followed by each POST parameter name and its value, names sorted, then base64
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-security). For a GET the parameters are
 * already in the URL and `params` is empty. `twilio.validateRequest` accepts what this returns;
 * server.test.ts checks that.
 */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  const payload = Object.keys(params)
    .sort()
    .reduce((acc, name) => acc + name + params[name], url);
  return createHmac('sha1', authToken).update(payload, 'utf8').digest('base64');
}
