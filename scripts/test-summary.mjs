// Prints the totals of a test run from its TAP (the dot reporter has already listed each
// failure in full), then one plain "N passed, N failed" line.
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const totals = lines.filter((line) => /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(line));
process.stdout.write(`${totals.join('\n')}\n`);
const count = (name) => Number(totals.find((line) => line.startsWith(`# ${name} `))?.split(' ')[2] ?? 0);
process.stdout.write(`${count('pass')} passed, ${count('fail') + count('cancelled')} failed\n`);
