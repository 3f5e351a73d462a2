import * as init from './0001_init.js';
import * as carriers from './0002_carriers.js';

/**
 * Numbered, forward-only migrations. Kept as TypeScript string modules rather than `.sql` files so
 * that `tsc` ships them in `dist/` with no extra build step to forget.
 */
export const migrations: { version: number; name: string; sql: string }[] = [
  { version: 1, ...init },
  { version: 2, ...carriers },
];
