import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RedialError } from '../../domain/errors.js';
import { callbackPathPrefix } from '../routes/redial/callbacks.js';

declare module 'fastify' {
  interface FastifyRequest {
    workspaceId: string;
  }
}

/** Routes that answer without a key. */
const openPaths = new Set(['/health']);

/**
 * Every route but /health needs the `xi-api-key` header. Keys are compared as SHA-256 digests in
 * constant time, so neither the length nor the content of a key leaks through timing.
 */
export function registerAuth(app: FastifyInstance, keys: { apiKey: string; workspaceId: string }[]): void {
  const digests = keys.map((key) => ({ digest: digest(key.apiKey), workspaceId: key.workspaceId }));
  app.decorateRequest('workspaceId', '');
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    // Carrier callbacks carry no key: each is checked by its carrier's signature instead.
    if (openPaths.has(path) || path.startsWith(callbackPathPrefix)) return;
    const header = request.headers['xi-api-key'];
    const presented = Array.isArray(header) ? header[0] : header;
    if (!presented) {
      throw new RedialError('missing_api_key', 'Missing API key: send it in the xi-api-key header (the key is printed when redial first starts).');
    }
    const presentedDigest = digest(presented);
    const match = digests.find((key) => timingSafeEqual(key.digest, presentedDigest));
    if (!match) throw new RedialError('invalid_api_key', 'Invalid API key in the xi-api-key header; check REDIAL_API_KEY or the api-key file in the data directory.');
    request.workspaceId = match.workspaceId;
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
