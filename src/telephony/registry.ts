import type { PhoneProvider } from '../domain/types.js';
import type { Provider, ProviderContext } from './provider.js';

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

export type ProviderFactory = (context: ProviderContext) => Provider;

/**
 * Providers are made on first use: an API-only process that never dials a SIP trunk should not
 * bind the SIP port, nor a worker that only runs simulated batches.
 */
export function createProviderRegistry(options: {
  context: ProviderContext;
  simulate: boolean;
  factories: Partial<Record<string, ProviderFactory>>;
}): ProviderRegistry {
  const made = new Map<string, Provider>();
  let closed = false;
  const byName = (name: string): Provider | null => {
    const existing = made.get(name);
    if (existing) return existing;
    // Names can come from a URL (callbacks): only the factories' own keys count, never `constructor`.
    const factory = Object.hasOwn(options.factories, name) ? options.factories[name] : undefined;
    if (!factory || closed) return null;
    const provider = factory(options.context);
    made.set(name, provider);
    return provider;
  };
  const nameFor = (phoneProvider: PhoneProvider | null): string => (options.simulate ? 'simulated' : (phoneProvider ?? 'whatsapp'));
  return {
    forPhoneProvider: (phoneProvider) => byName(nameFor(phoneProvider)),
    byName,
    supports: (phoneProvider) => Object.hasOwn(options.factories, nameFor(phoneProvider)),
    close: async () => {
      closed = true;
      await Promise.all([...made.values()].map((provider) => provider.close()));
    },
  };
}
