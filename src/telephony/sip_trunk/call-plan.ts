/**
 * Turns a `PlaceCallRequest` into the two legs of a third-party call: the callee through the
 * phone number's outbound trunk, the agent at its SIP URI. Everything that could make every call
 * of a batch fail (TLS, no agent URI, a bad trunk address or header) is refused here, before any
 * packet is sent, with a message that says what to change.
 */
import type { Json, JsonObject } from '../../domain/types.js';
import { ProviderCallError, type PlaceCallRequest } from '../provider.js';
import type { SipHeader } from './message.js';
import { endpointForUri } from './dialog.js';
import type { Endpoint } from './transport.js';
import { hostPort } from './uri.js';

export interface LegPlan {
  endpoint: Endpoint;
  requestUri: string;
  fromUri: string;
  toUri: string;
  headers: SipHeader[];
}

export interface CallPlan {
  /** The trunk as configured (`host[:port]`), for logs and Retry-After bookkeeping. */
  trunkAddress: string;
  callee: LegPlan;
  agent: LegPlan;
  credentials: { username: string; password: string } | null;
  ringingTimeoutMs: number;
}

/** Headers redial writes itself; a trunk setting or variable may not replace them. */
const reservedHeaders = new Set(
  ['allow', 'authorization', 'call-id', 'contact', 'content-length', 'content-type', 'cseq', 'from', 'max-forwards', 'proxy-authorization', 'record-route', 'route', 'to', 'via'],
);

export function planCall(request: PlaceCallRequest): CallPlan {
  const phoneNumber = request.phoneNumber;
  const trunk = asObject(phoneNumber?.config.outbound_trunk);
  if (!phoneNumber || !trunk) {
    throw configError(`phone number '${phoneNumber?.id ?? '(none)'}' has no outbound trunk; set outbound_trunk_config on the phone number`);
  }
  if (!request.to) throw new ProviderCallError(`recipient '${request.recipientId}' has no phone number to dial`, 'invalid_number');
  const address = typeof trunk.address === 'string' ? trunk.address.trim() : '';
  const transport = typeof trunk.transport === 'string' ? trunk.transport : 'auto';
  if (transport === 'tls') {
    throw configError(`the outbound trunk of '${phoneNumber.phoneNumber}' uses transport 'tls', which redial does not support yet; use 'udp' or 'tcp'`);
  }
  if (transport !== 'auto' && transport !== 'udp' && transport !== 'tcp') {
    throw configError(`the outbound trunk of '${phoneNumber.phoneNumber}' has transport '${transport}'; use 'udp' or 'tcp'`);
  }
  const trunkEndpoint = parseTrunkAddress(address, transport === 'tcp' ? 'tcp' : 'udp');
  if (!trunkEndpoint) throw configError(`the outbound trunk address '${address}' is not host[:port]; fix outbound_trunk_config.address`);
  const agentUri = request.agent.handoff?.sipUri;
  if (!agentUri) {
    throw configError(`agent '${request.agent.id}' has no SIP URI to connect answered calls to; set handoff.sip_uri on the agent (e.g. sip:agent@host:5060)`);
  }
  let agentEndpoint: Endpoint;
  try {
    agentEndpoint = endpointForUri(agentUri, 'udp');
  } catch (error) {
    throw configError(`agent '${request.agent.id}' SIP URI '${agentUri}' cannot be used: ${(error as Error).message}`);
  }
  const trunkHost = hostPort(trunkEndpoint.host, trunkEndpoint.port);
  return {
    trunkAddress: address,
    callee: {
      endpoint: trunkEndpoint,
      requestUri: `sip:${request.to}@${trunkHost}`,
      fromUri: `sip:${phoneNumber.phoneNumber}@${trunkEndpoint.host}`,
      toUri: `sip:${request.to}@${trunkEndpoint.host}`,
      headers: staticHeaders(trunk.headers, phoneNumber.phoneNumber),
    },
    agent: {
      endpoint: agentEndpoint,
      requestUri: agentUri,
      // The agent sees the person it talks to as the caller, as on an inbound call.
      fromUri: `sip:${request.to}@${trunkEndpoint.host}`,
      toUri: agentUri,
      headers: variableHeaders(trunk.attributes_to_headers, request.clientData),
    },
    credentials: credentialsOf(trunk, phoneNumber.secrets),
    ringingTimeoutMs: Math.max(0, request.ringingTimeoutSecs) * 1000,
  };
}

/** `host`, `host:port`, `[v6]:port`, optionally as `sip:host:port;transport=…`; the port defaults to 5060. */
export function parseTrunkAddress(address: string, transport: 'udp' | 'tcp'): Endpoint | null {
  const bare = address.replace(/^sip:/i, '').split(';')[0]!.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(bare);
  if (!match) return null;
  const port = match[3] ? Number(match[3]) : 5060;
  if (port < 1 || port > 65535) return null;
  return { transport, host: match[1] ?? match[2]!, port };
}

function staticHeaders(value: Json | undefined, phoneNumber: string): SipHeader[] {
  const headers = asObject(value);
  if (!headers) return [];
  return Object.entries(headers).map(([name, raw]) => {
    if (!/^[A-Za-z0-9!%'*+.^_`|~-]+$/.test(name) || reservedHeaders.has(name.toLowerCase())) {
      throw configError(`the outbound trunk of '${phoneNumber}' sets header '${name}', which redial cannot send (not a header name, or one redial writes itself)`);
    }
    if (typeof raw !== 'string' || /[\r\n]/.test(raw)) {
      throw configError(`the outbound trunk of '${phoneNumber}' sets header '${name}' to a value that is not one line of text`);
    }
    return { name, value: raw };
  });
}

/** `attributes_to_headers` maps a dynamic variable to a header name on the agent leg. */
function variableHeaders(mapping: Json | undefined, clientData: JsonObject | null): SipHeader[] {
  const names = asObject(mapping);
  const variables = asObject(clientData?.dynamic_variables);
  if (!names || !variables) return [];
  const headers: SipHeader[] = [];
  for (const [variable, headerName] of Object.entries(names)) {
    const value = variables[variable];
    if (typeof headerName !== 'string' || !/^[A-Za-z0-9!%'*+.^_`|~-]+$/.test(headerName) || reservedHeaders.has(headerName.toLowerCase())) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    // A recipient's data is free text: a line break would start a header of its own.
    headers.push({ name: headerName, value: String(value).replace(/[\r\n]+/g, ' ').trim() });
  }
  return headers;
}

function credentialsOf(trunk: JsonObject, secrets: JsonObject): { username: string; password: string } | null {
  if (trunk.has_auth_credentials !== true || typeof trunk.username !== 'string' || !trunk.username) return null;
  return { username: trunk.username, password: typeof secrets.outbound_password === 'string' ? secrets.outbound_password : '' };
}

function asObject(value: Json | undefined): JsonObject | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
}

function configError(message: string): ProviderCallError {
  // Every call of the batch would meet the same setting: fail the batch once, not each recipient.
  return new ProviderCallError(message, 'provider_error', { failsBatch: true });
}
