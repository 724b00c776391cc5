// The reader bound for throughput: what the function's reader alone costs (src/read/input.ts: yaml's Parser and
// Composer over every item, nothing planned or rendered), with the input written back. No function that validates
// its input with yaml's composer can be cheaper than this; bench/run.mjs shows it next to the floor.
import { readFileSync } from 'node:fs';
import { readInput } from '../../src/read/input.js';

const input = readInput(readFileSync(0).toString('utf8'));
process.stdout.write(input.source, () => process.exit(0));
