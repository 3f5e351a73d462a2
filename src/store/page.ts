import type { Page } from './store.js';

/** A page from rows fetched with `limit + 1`: the extra row only says whether there is more. */
export function pageOf<T>(items: T[], limit: number, cursorOf: (item: T) => string): Page<T> {
  const more = items.length > limit;
  const page = more ? items.slice(0, limit) : items;
  return { items: page, nextCursor: more && page.length ? cursorOf(page[page.length - 1]!) : null };
}
