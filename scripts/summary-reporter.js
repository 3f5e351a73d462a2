// A node:test reporter: one line per finished test, the failures in full, and a closing line
// "N passed, N failed" that CI reads.
import { inspect } from 'node:util';

export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') {
      if (event.type === 'test:diagnostic' && /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(event.data.message)) continue;
      if (event.type === 'test:stderr' || event.type === 'test:stdout') yield event.data.message;
      continue;
    }
    const { name, details, nesting, file, skip, todo } = event.data;
    const isSuite = details?.type === 'suite';
    const indent = '  '.repeat(nesting);
    const ms = details?.duration_ms === undefined ? '' : ` (${Math.round(details.duration_ms)} ms)`;
    if (event.type === 'test:pass') {
      if (!isSuite) {
        if (skip || todo) skipped++;
        else passed++;
      }
      yield `${indent}${skip || todo ? '-' : '✔'} ${name}${ms}\n`;
    } else {
      if (!isSuite) failed++;
      yield `${indent}✖ ${name}${ms}\n`;
      if (!isSuite) failures.push({ name, file, error: details?.error });
    }
  }
  for (const failure of failures) {
    yield `\n✖ ${failure.name} (${failure.file ?? 'unknown file'})\n${inspect(failure.error?.cause ?? failure.error, { depth: 6 })}\n`;
  }
  yield `\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
