import * as init from './0001_init.js';
import * as carriers from './0002_carriers.js';

/** Numbered, forward-only migrations, applied at start-up under an advisory lock. */
export const migrations: { version: number; name: string; sql: string }[] = [
  { version: 1, ...init },
  { version: 2, ...carriers },
];
