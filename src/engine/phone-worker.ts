/** Worker side of `PhoneNormaliser`: normalises a slice of phone numbers off the main thread. */
import { parentPort } from 'node:worker_threads';
import type { CountryCode } from 'libphonenumber-js';
import { toE164 } from '../domain/phone.js';

parentPort!.on('message', (message: { id: number; texts: (string | null)[]; country: CountryCode | undefined }) => {
  const results = message.texts.map((text) => (text === null ? null : toE164(text, message.country)));
  parentPort!.postMessage({ id: message.id, results });
});
