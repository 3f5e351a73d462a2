import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** A valid number in E.164, or null. National formats are read in `defaultCountry` when given. */
export function toE164(text: string, defaultCountry?: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(text, defaultCountry ? { defaultCountry } : undefined);
  return parsed && parsed.isValid() ? parsed.number : null;
}

export function countryOf(e164: string): CountryCode | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}
