import type { Clock } from '../domain/clock.js';
import { agentNotFound, RedialError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Agent, AgentHandoff, JsonObject, PhoneNumber } from '../domain/types.js';
import type { AgentCreateBody, AgentUpdateBody } from '../domain/wire/agents.js';
import type { Page, Store } from '../store/store.js';

export class AgentService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async create(workspaceId: string, body: AgentCreateBody): Promise<Agent> {
    const now = this.clock.now();
    const agent: Agent = {
      id: newId('agent'),
      workspaceId,
      name: body.name ?? 'Untitled agent',
      conversationConfig: body.conversation_config as JsonObject,
      platformSettings: (body.platform_settings ?? null) as JsonObject | null,
      workflow: (body.workflow ?? null) as JsonObject | null,
      tags: body.tags ?? [],
      handoff: handoffOf(body.handoff),
      createdAt: now,
      updatedAt: now,
    };
    await this.store.agentInsert(agent);
    return agent;
  }

  async get(workspaceId: string, agentId: string): Promise<{ agent: Agent; phoneNumbers: PhoneNumber[] }> {
    const agent = await this.store.agentGet(workspaceId, agentId);
    if (!agent) throw agentNotFound(agentId);
    const phoneNumbers = await this.store.phoneNumberList({ workspaceId, agentId, provider: null });
    return { agent, phoneNumbers };
  }

  async list(workspaceId: string, query: { limit: number; cursor: string | null; search: string | null }): Promise<Page<Agent>> {
    return this.store.agentList({ workspaceId, ...query });
  }

  async update(workspaceId: string, agentId: string, body: AgentUpdateBody): Promise<{ agent: Agent; phoneNumbers: PhoneNumber[] }> {
    const { agent, phoneNumbers } = await this.get(workspaceId, agentId);
    const updated: Agent = {
      ...agent,
      name: body.name ?? agent.name,
      conversationConfig: (body.conversation_config ?? agent.conversationConfig) as JsonObject,
      platformSettings: (body.platform_settings ?? agent.platformSettings) as JsonObject | null,
      workflow: (body.workflow ?? agent.workflow) as JsonObject | null,
      tags: body.tags ?? agent.tags,
      handoff: body.handoff === undefined || body.handoff === null ? agent.handoff : handoffOf(body.handoff),
      updatedAt: this.clock.now(),
    };
    await this.store.agentUpdate(updated);
    return { agent: updated, phoneNumbers };
  }

  async delete(workspaceId: string, agentId: string): Promise<void> {
    const outcome = await this.store.agentDelete(workspaceId, agentId);
    if (outcome === 'not_found') throw agentNotFound(agentId);
    if (outcome === 'in_use') {
      throw new RedialError('agent_in_use', `Agent '${agentId}' is used by a pending or running batch; cancel the batch first, then delete the agent.`);
    }
  }
}

function handoffOf(wire: AgentCreateBody['handoff']): AgentHandoff | null {
  if (!wire) return null;
  const handoff: AgentHandoff = {};
  if (wire.stream_url) handoff.streamUrl = wire.stream_url;
  if (wire.twiml_url) handoff.twimlUrl = wire.twiml_url;
  if (wire.sip_uri) handoff.sipUri = wire.sip_uri;
  if (wire.sdp_url) handoff.sdpUrl = wire.sdp_url;
  return handoff;
}
