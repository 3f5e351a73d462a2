import type { PhoneProvider } from '../domain/types.js';
import type { CallEventSink, Provider } from './provider.js';

/**
 * Which provider places a batch's calls. With `simulate`, every call goes to the simulator
 * whatever the phone number's provider; otherwise the phone number's provider decides.
 */
export interface ProviderRegistry {
  /** The provider for a batch whose phone number has this provider, or null when none is available here. */
  forPhoneProvider(phoneProvider: PhoneProvider | null): Provider | null;
  /** The provider by the name recorded on an attempt. */
  byName(name: string): Provider | null;
  /** Names a batch's phone number may have for dispatch to work in this process. */
  supports(phoneProvider: PhoneProvider | null): boolean;
  close(): Promise<void>;
}

export type ProviderFactory = (sink: CallEventSink) => Provider;

export function createProviderRegistry(options: {
  sink: CallEventSink;
  simulate: boolean;
  factories: Partial<Record<string, ProviderFactory>>;
}): ProviderRegistry {
  const providers = new Map<string, Provider>();
  for (const [name, factory] of Object.entries(options.factories)) {
    if (factory) providers.set(name, factory(options.sink));
  }
  const simulated = providers.get('simulated') ?? null;
  const forPhoneProvider = (phoneProvider: PhoneProvider | null): Provider | null => {
    if (options.simulate) return simulated;
    return providers.get(phoneProvider ?? 'whatsapp') ?? null;
  };
  return {
    forPhoneProvider,
    byName: (name) => providers.get(name) ?? null,
    supports: (phoneProvider) => forPhoneProvider(phoneProvider) !== null,
    close: async () => {
      await Promise.all([...providers.values()].map((provider) => provider.close()));
    },
  };
}
