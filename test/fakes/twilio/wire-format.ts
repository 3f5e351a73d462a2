/**
 * How Twilio writes values on the wire: RFC 2822 dates with a numeric zone, phone numbers in
 * their national display form, forms with repeatable parameters.
 */
import type { FormParams } from './types.js';

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** `Tue, 31 Aug 2010 20:36:28 +0000`, as Twilio writes `date_created` and the `Timestamp` callback parameter. */
export function formatRfc2822(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]}, ${two(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** `(415) 555-1212` for a NANP number, the number unchanged otherwise (Twilio's `to_formatted`). */
export function formatPhoneNumber(number: string): string {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : number;
}

/** A query string or form body; a repeated name gives an array, in order. */
export function parseForm(text: string): FormParams {
  const out: FormParams = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  return out;
}

/** The last value of a parameter, as Twilio reads a repeated single-valued one. */
export function lastValue(form: FormParams, name: string): string | undefined {
  const value = form[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** Every value of a list parameter: repeated, or space-separated in one value (both are accepted). */
export function listValues(form: FormParams, name: string): string[] {
  const value = form[name];
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== '');
}
