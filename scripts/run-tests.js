// Runs every *.test.ts under src/ and test/ with node's test runner (TypeScript through tsx).
// Extra arguments narrow the run: `npm test -- test/api` runs only the files under test/api.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['src', 'test']).flatMap((root) => (statSync(root).isDirectory() ? findTests(root) : [root])).sort();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=./scripts/summary-reporter.js', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
