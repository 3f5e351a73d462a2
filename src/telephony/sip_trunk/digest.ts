/**
 * HTTP digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 7616): answering a
 * 401 WWW-Authenticate or 407 Proxy-Authenticate challenge. MD5 is what trunks send; SHA-256 and
 * the -sess variants cost nothing more, so they are accepted too.
 */
import { createHash, randomBytes } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque: string | null;
  algorithm: DigestAlgorithm;
  /** The qop options offered; empty for an RFC 2069 challenge without qop. */
  qop: string[];
  stale: boolean;
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  /** Absent for challenges without qop: the response is then H(HA1:nonce:HA2). */
  qop?: 'auth' | 'auth-int';
  nc?: string;
  cnonce?: string;
  /** The request body, for qop=auth-int. */
  body?: Buffer;
}

const algorithms: Record<string, DigestAlgorithm> = {
  md5: 'MD5',
  'md5-sess': 'MD5-sess',
  'sha-256': 'SHA-256',
  'sha-256-sess': 'SHA-256-sess',
};

/** Null when the header is not a digest challenge redial can answer (another scheme or algorithm). */
export function parseChallenge(header: string): DigestChallenge | null {
  const match = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!match) return null;
  const params = parseAuthParams(match[1]!);
  const algorithm = algorithms[(params.algorithm ?? 'MD5').toLowerCase()];
  if (!algorithm || params.realm === undefined || params.nonce === undefined) return null;
  return {
    realm: params.realm,
    nonce: params.nonce,
    opaque: params.opaque ?? null,
    algorithm,
    qop: (params.qop ?? '')
      .split(',')
      .map((option) => option.trim().toLowerCase())
      .filter(Boolean),
    stale: (params.stale ?? '').toLowerCase() === 'true',
  };
}

export function digestResponse(input: DigestInput): string {
  const hash = (text: string | Buffer) => createHash(input.algorithm.startsWith('SHA-256') ? 'sha256' : 'md5').update(text).digest('hex');
  let ha1 = hash(`${input.username}:${input.realm}:${input.password}`);
  if (input.algorithm.endsWith('-sess')) ha1 = hash(`${ha1}:${input.nonce}:${input.cnonce ?? ''}`);
  const ha2 = input.qop === 'auth-int' ? hash(`${input.method}:${input.uri}:${hash(input.body ?? Buffer.alloc(0))}`) : hash(`${input.method}:${input.uri}`);
  if (!input.qop) return hash(`${ha1}:${input.nonce}:${ha2}`);
  return hash(`${ha1}:${input.nonce}:${input.nc ?? '00000001'}:${input.cnonce ?? ''}:${input.qop}:${ha2}`);
}

/** The Authorization / Proxy-Authorization value answering `challenge` for one request. */
export function authorizationHeader(
  challenge: DigestChallenge,
  request: { method: string; uri: string; body: Buffer },
  credentials: { username: string; password: string },
  cnonce: string = randomBytes(12).toString('hex'),
): string {
  // auth is preferred: auth-int hashes the body, and some servers implement it inconsistently.
  const qop = challenge.qop.includes('auth') ? 'auth' : challenge.qop.includes('auth-int') ? 'auth-int' : undefined;
  // A fresh challenge is answered once, so the nonce count is always 1.
  const nc = '00000001';
  const response = digestResponse({
    algorithm: challenge.algorithm,
    username: credentials.username,
    password: credentials.password,
    realm: challenge.realm,
    nonce: challenge.nonce,
    method: request.method,
    uri: request.uri,
    body: request.body,
    ...(qop ? { qop, nc, cnonce } : challenge.algorithm.endsWith('-sess') ? { cnonce } : {}),
  });
  const parts = [
    `username=${quote(credentials.username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(request.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  else if (challenge.algorithm.endsWith('-sess')) parts.push(`cnonce=${quote(cnonce)}`);
  if (challenge.opaque !== null) parts.push(`opaque=${quote(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/** `name=value` pairs separated by commas, values optionally quoted with backslash escapes. */
export function parseAuthParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  const pattern = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null && match[0].length > 0) {
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
  }
  return params;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
