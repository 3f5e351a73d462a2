import * as init from './0001_init.js';

/** Numbered, forward-only migrations, applied at start-up under an advisory lock. */
export const migrations: { version: number; name: string; sql: string }[] = [{ version: 1, ...init }];
