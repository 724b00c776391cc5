/**
 * The executable: builds the real io (stdin, files, environment, the cached and lazily loaded network prober),
 * runs the command line in-process (`cli/main.ts`), writes stdout and stderr, sets the exit code.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runCli, type CliIo } from './cli/main.js';
import { tooLarge } from './read/input.js';
import { withDecisionCache } from './probe/cached-prober.js';
import { redactor } from './results.js';

/**
 * undici parses HTTP/1.1 with a WebAssembly module. V8 compiles it at once with its baseline compiler and
 * then again, optimised, on background threads that exit has to wait for: about 140 ms at the end of every
 * probing run, for a few dozen requests that never needed the optimised code. Baseline only, then.
 * The probe pulls in undici; it is loaded only when an image needs probing and the decision cache cannot
 * answer, so glob-only and cached runs start fast.
 */
function loadProbe(): Promise<typeof import('./probe/index.js')> {
  setFlagsFromString('--liftoff-only');
  return import('./probe/index.js');
}

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No stdin at all (closed descriptor) reads as empty input.
    if (code === 'EAGAIN' || code === 'EBADF') return Buffer.alloc(0);
    if (code === 'ERR_FS_FILE_TOO_LARGE') throw tooLarge(undefined);
    throw e;
  }
}

const io: CliIo = {
  env: process.env,
  readStdin,
  readFile: (path) => readFileSync(path, 'utf8'),
  createProber: (settings) =>
    withDecisionCache(settings, () => loadProbe().then((m) => m.createNetworkProber(settings, { env: process.env })), { now: () => Date.now() }),
};

const redact = redactor([process.env['LICENSE_ID']]);

// Last line of defence: whatever escapes (a reader that closed stdout early, an unexpected throw) is one line, exit 1.
function failedWrite(e: NodeJS.ErrnoException): never {
  const message = e?.code === 'EPIPE' ? 'cannot write the output: stdout was closed (EPIPE)' : `internal error: ${e?.message ?? String(e)}`;
  process.stderr.write(redact(`proxy-private-images: ${message}\n`));
  process.exit(1);
}
process.on('uncaughtException', failedWrite);

/**
 * Writes the answer and exits as soon as stdout has taken it. Waiting for the event loop to drain instead
 * costs about 150 ms after a probe (undici's closed sockets), on every render in a pipeline.
 */
function finish(stdout: string, stderr: string, exitCode: number): void {
  if (stderr) process.stderr.write(stderr);
  process.exitCode = exitCode;
  process.stdout.write(stdout, (e?: Error | null) => {
    if (e) return failedWrite(e as NodeJS.ErrnoException);
    process.exit(exitCode);
  });
}

runCli(process.argv.slice(2), io).then((out) => finish(out.stdout, out.stderr, out.exitCode), failedWrite);
