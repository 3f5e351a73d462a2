/**
 * The batch export: one CSV row per recipient. The SDK leaves the columns to us; these are the
 * fixed columns followed by one column per dynamic variable seen in the batch.
 */
import { stringify } from 'csv-stringify/sync';
import type { Batch, Recipient } from '../domain/types.js';

export const fixedExportColumns = [
  'recipient_id',
  'phone_number',
  'whatsapp_user_id',
  'status',
  'reason',
  'attempts',
  'conversation_id',
  'last_attempt_at',
] as const;

export function exportColumns(batch: Batch): { header: string[]; variables: string[] } {
  const fixed = new Set<string>(fixedExportColumns);
  const header = [...fixedExportColumns, ...batch.dynamicVariableNames.map((name) => (fixed.has(name) ? `dynamic_variables.${name}` : name))];
  return { header, variables: batch.dynamicVariableNames };
}

export function csvLines(rows: unknown[][]): string {
  return stringify(rows.map((row) => row.map(safeCell)));
}

export function exportRow(recipient: Recipient, variables: string[]): unknown[] {
  const values = recipient.clientData?.dynamic_variables;
  const dynamic = values && typeof values === 'object' && !Array.isArray(values) ? values : {};
  return [
    recipient.id,
    recipient.phoneNumber,
    recipient.whatsappUserId,
    recipient.status,
    recipient.reason,
    recipient.attemptCount,
    recipient.conversationId,
    recipient.lastAttemptAt === null ? null : new Date(recipient.lastAttemptAt).toISOString(),
    ...variables.map((name) => dynamic[name] ?? null),
  ];
}

/**
 * Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return) as a formula;
 * a leading apostrophe makes it text (OWASP's advice for CSV injection). Phone numbers in E.164
 * start with '+', so they get one too.
 */
export function safeCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
