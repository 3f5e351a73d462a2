/**
 * `column = 'a'` or `column IN ('a', 'b')` from a status list of the state tables, so SQL and
 * `status.ts` cannot drift apart. One value is written as `=`: SQLite (3.53) does not match a
 * one-value IN against a partial index's `WHERE status = 'pending'`, and scanned the whole batch
 * on every lease (3.1 s of a 100,000-call dispatch, against 0.7 s with the index).
 */
export function sqlIn(column: string, values: readonly string[]): string {
  const literals = values.map((value) => `'${value.replace(/'/g, "''")}'`);
  return literals.length === 1 ? `${column} = ${literals[0]}` : `${column} IN (${literals.join(', ')})`;
}
