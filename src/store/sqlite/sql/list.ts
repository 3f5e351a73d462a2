/** Renders a status list from the state tables as an SQL literal list, so SQL and `status.ts` cannot drift apart. */
export function sqlList(values: readonly string[]): string {
  return values.map((value) => `'${value.replace(/'/g, "''")}'`).join(', ');
}
