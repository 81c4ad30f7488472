// Prints the totals of a test run from its TAP (the dot reporter has already listed each
// failure in full), then one plain "N passed, N failed" line. A test file that failed outside
// any test (an error after its tests ended, a crash) shows only "test failed" in the dot
// reporter; what that file printed is in the TAP as comments, and is printed here.
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const TOTAL = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /;
const TOP_LEVEL_RESULT = /^(ok|not ok) \d+ - /;
const MAX_LINES_PER_FILE = 60;

let printed = [];
for (const line of lines) {
  if (line.startsWith('# ') && !line.startsWith('# Subtest: ') && !TOTAL.test(line))
    printed.push(line);
  if (!TOP_LEVEL_RESULT.test(line)) continue;
  if (line.startsWith('not ok') && printed.length > 0) {
    process.stdout.write(
      `\nOutput of ${line.replace(TOP_LEVEL_RESULT, '')}:\n${printed.slice(-MAX_LINES_PER_FILE).join('\n')}\n`,
    );
  }
  printed = [];
}

const totals = lines.filter((line) => TOTAL.test(line));
process.stdout.write(`${totals.join('\n')}\n`);
const count = (name) =>
  Number(totals.find((line) => line.startsWith(`# ${name} `))?.split(' ')[2] ?? 0);
process.stdout.write(`${count('pass')} passed, ${count('fail') + count('cancelled')} failed\n`);
