/**
 * Dialog state (RFC 3261 §12) as data, and the requests built from it: in-dialog requests (ACK
 * for a 2xx, BYE) and the CANCEL of a pending INVITE. Kept apart from the live leg so a process
 * that reclaims a call after a crash can build the same requests from what was stored.
 */
import type { JsonObject } from '../../domain/types.js';
import { createRequest, headerValue, headerValues, type SipHeader, type SipMessage, type SipRequest } from './message.js';
import type { Endpoint, TransportName } from './transport.js';
import { parseUri } from './uri.js';

export type LegPhase = 'inviting' | 'answered' | 'confirmed' | 'ended';

/** Everything needed to end one INVITE leg from anywhere: it goes into the attempt's providerState. */
export interface LegSnapshot {
  callId: string;
  /** Our From header, tag included. */
  from: string;
  /** The To header of the INVITE, without the far end's tag. */
  to: string;
  remoteTag: string | null;
  requestUri: string;
  /** Where the INVITE (and so its CANCEL) went. */
  endpoint: Endpoint;
  /** The INVITE's top Via: a CANCEL must carry the same one (§9.1). */
  inviteVia: string;
  inviteSeq: number;
  /** The CSeq of the last in-dialog request we sent (the INVITE's until then). */
  localSeq: number;
  /** Record-Route of the 2xx, reversed (§12.1.2). */
  routeSet: string[];
  remoteTarget: string | null;
  phase: LegPhase;
  provisional: boolean;
}

export interface DialogRoute {
  callId: string;
  from: string;
  to: string;
  remoteTag: string;
  routeSet: string[];
  remoteTarget: string;
  transport: TransportName;
}

/** An in-dialog request (§12.2.1.1), with loose and strict routing, and where to send it. */
export function inDialogRequest(dialog: DialogRoute, method: string, seq: number, extra: SipHeader[] = [], body?: Buffer): { request: SipRequest; to: Endpoint } {
  let uri = dialog.remoteTarget;
  let routes = dialog.routeSet;
  let nextHop = dialog.remoteTarget;
  const first = dialog.routeSet[0];
  if (first !== undefined) {
    const firstUri = routeUri(first);
    nextHop = firstUri;
    if (parseUri(firstUri).params.lr === undefined) {
      // Strict routing (RFC 2543 proxies): the first route becomes the Request-URI and the
      // remote target goes to the end of the Route list.
      uri = firstUri;
      routes = [...dialog.routeSet.slice(1), `<${dialog.remoteTarget}>`];
    }
  }
  const headers: SipHeader[] = [
    ...routes.map((value) => ({ name: 'Route', value })),
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: dialog.from },
    { name: 'To', value: `${dialog.to};tag=${dialog.remoteTag}` },
    { name: 'Call-ID', value: dialog.callId },
    { name: 'CSeq', value: `${seq} ${method}` },
    ...extra,
  ];
  return { request: createRequest(method, uri, headers, body), to: endpointForUri(nextHop, dialog.transport) };
}

/** The CANCEL of an INVITE (§9.1): same Request-URI, Call-ID, From, To, CSeq number, Route, and top Via. */
export function cancelRequest(leg: Pick<LegSnapshot, 'callId' | 'from' | 'to' | 'requestUri' | 'inviteVia' | 'inviteSeq'>, routes: string[] = []): SipRequest {
  return createRequest('CANCEL', leg.requestUri, [
    { name: 'Via', value: leg.inviteVia },
    ...routes.map((value) => ({ name: 'Route', value })),
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: leg.from },
    { name: 'To', value: leg.to },
    { name: 'Call-ID', value: leg.callId },
    { name: 'CSeq', value: `${leg.inviteSeq} CANCEL` },
  ]);
}

/** The route set a UAC learns from a 2xx: its Record-Route, last hop first. */
export function routeSetOf(response: SipMessage): string[] {
  return headerValues(response, 'Record-Route').reverse();
}

export function remoteTargetOf(message: SipMessage): string | null {
  const contact = headerValue(message, 'Contact');
  if (!contact) return null;
  return routeUri(contact);
}

export function endpointForUri(uri: string, fallback: TransportName): Endpoint {
  const parsed = parseUri(uri);
  if (parsed.scheme === 'sips') throw new Error(`'${uri}' needs TLS, which redial does not support yet`);
  const transport = (parsed.params.transport ?? fallback).toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp') throw new Error(`'${uri}' asks for transport '${transport}'; redial speaks udp and tcp`);
  return { transport, host: parsed.host, port: parsed.port ?? 5060 };
}

export function snapshotJson(leg: LegSnapshot): JsonObject {
  return { ...leg, endpoint: { ...leg.endpoint }, routeSet: [...leg.routeSet] };
}

/** Reads a snapshot back from JSON written by any version of this code; null when it is not one. */
export function parseSnapshot(value: unknown): LegSnapshot | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const endpoint = v.endpoint as Record<string, unknown> | undefined;
  const strings = ['callId', 'from', 'to', 'requestUri', 'inviteVia'] as const;
  if (strings.some((key) => typeof v[key] !== 'string')) return null;
  if (typeof v.inviteSeq !== 'number' || typeof v.localSeq !== 'number') return null;
  if (!endpoint || typeof endpoint.host !== 'string' || typeof endpoint.port !== 'number') return null;
  if (endpoint.transport !== 'udp' && endpoint.transport !== 'tcp') return null;
  const phases: LegPhase[] = ['inviting', 'answered', 'confirmed', 'ended'];
  if (!phases.includes(v.phase as LegPhase)) return null;
  return {
    callId: v.callId as string,
    from: v.from as string,
    to: v.to as string,
    remoteTag: typeof v.remoteTag === 'string' ? v.remoteTag : null,
    requestUri: v.requestUri as string,
    endpoint: { transport: endpoint.transport, host: endpoint.host, port: endpoint.port },
    inviteVia: v.inviteVia as string,
    inviteSeq: v.inviteSeq,
    localSeq: v.localSeq,
    routeSet: Array.isArray(v.routeSet) ? v.routeSet.filter((route): route is string => typeof route === 'string') : [],
    remoteTarget: typeof v.remoteTarget === 'string' ? v.remoteTarget : null,
    phase: v.phase as LegPhase,
    provisional: v.provisional === true,
  };
}

/** The URI inside a Route, Record-Route or Contact value. */
function routeUri(value: string): string {
  const open = value.indexOf('<');
  if (open === -1) return value.split(';')[0]!.trim();
  return value.slice(open + 1, value.indexOf('>', open)).trim();
}
