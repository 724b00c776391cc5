/**
 * The executable: process I/O only. Reads stdin, runs the pipeline (or the
 * `check` command, the `--stream` mode, or kustomize's legacy exec plugin
 * protocol), writes stdout and stderr, sets the exit code.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { parseAllDocuments, parseDocument } from 'yaml';
import { parseCli, USAGE } from './cli/args.js';
import { isLegacyPluginInvocation, runOnStream } from './cli/legacy-plugin.js';
import { policyFirst } from './cli/policy-prober.js';
import { withDecisionCache } from './probe/cached-prober.js';
import { loadConfig } from './config/load.js';
import { createPolicy } from './decide/policy.js';
import { FnError } from './errors.js';
import type { Prober, ProbeSettings } from './probe/types.js';
import { redactor } from './results.js';
import { run, type RunDeps, type RunOutput } from './run.js';
import { describeYamlError, MAX_INPUT_BYTES, tooLarge } from './io/resource-list.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : 'dev';

/**
 * undici parses HTTP/1.1 with a WebAssembly module. V8 compiles it at once with its baseline compiler and
 * then again, optimised, on background threads that exit has to wait for: about 140 ms at the end of every
 * probing run, for a few dozen requests that never needed the optimised code. Baseline only, then.
 */
function loadProbe(): Promise<typeof import('./probe/index.js')> {
  setFlagsFromString('--liftoff-only');
  return import('./probe/index.js');
}

/** The probe pulls in undici; load it only when an image needs probing and the decision cache cannot answer, so glob-only and cached runs start fast. */
function lazyProber(settings: ProbeSettings): Prober {
  return withDecisionCache(settings, () => loadProbe().then((m) => m.createNetworkProber(settings)));
}

function readStdin(): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(0);
  } catch (e) {
    // No stdin at all (closed descriptor) reads as empty input.
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EBADF') return '';
    if ((e as NodeJS.ErrnoException).code === 'ERR_FS_FILE_TOO_LARGE') throw tooLarge(undefined);
    throw e;
  }
  // Checked on bytes, before decoding: a string of several hundred MB cannot even be made.
  if (bytes.length > MAX_INPUT_BYTES) throw tooLarge(bytes.length);
  return bytes.toString('utf8');
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FnError('USAGE', `cannot read --config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.some((e) => e.code === 'MULTIPLE_DOCS')) {
    throw new FnError('CONFIG_INVALID', `--config ${path} holds ${parseAllDocuments(text).length} YAML documents, expected one functionConfig`);
  }
  if (doc.errors.length > 0) throw new FnError('CONFIG_INVALID', `--config ${path} is not valid YAML: ${describeYamlError(doc.errors[0]!)}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new FnError('CONFIG_INVALID', `--config ${path} uses YAML aliases that expand too far: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FnError('CONFIG_INVALID', `--config ${path} must hold a mapping`);
  return value as Record<string, unknown>;
}

/** Stream and legacy-plugin modes: the runner's own stderr is the report, and a failure leaves stdout empty. */
async function runStream(stdin: string, configText: string | undefined, runList: (rl: string) => Promise<RunOutput>): Promise<RunOutput> {
  const out = await runOnStream(stdin, configText, runList);
  return { stdout: out.stdout, stderr: out.report, exitCode: out.exitCode === 0 ? 0 : 1 };
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const deps: RunDeps = { env, createProber: lazyProber };

  if (isLegacyPluginInvocation(argv, env)) {
    const configText = readFileSync(argv[0]!, 'utf8');
    return runStream(readStdin(), configText, (rl) => run(rl, deps));
  }

  const cli = parseCli(argv);
  switch (cli.command) {
    case 'help':
      return { stdout: USAGE, stderr: '', exitCode: 0 };
    case 'version':
      return { stdout: `proxy-private-images ${VERSION}\n`, stderr: '', exitCode: 0 };
    case 'check': {
      if (cli.images.length === 0) throw new FnError('USAGE', 'check needs at least one IMAGE (see --help)');
      const fallback = cli.configFile ? readConfigFile(cli.configFile) : undefined;
      const config = loadConfig(fallback, { appSlug: 'check', ...cli.overrides });
      const [{ runCheck }, { createProber }] = await Promise.all([import('./cli/check.js'), loadProbe()]);
      const prober = policyFirst(createPolicy(config), createProber(config.probe));
      try {
        const out = await runCheck(cli.images, config.probe, prober);
        return { stdout: out.stdout, stderr: '', exitCode: out.exitCode };
      } finally {
        await prober.close();
      }
    }
    case 'run': {
      const fallback = cli.configFile ? readConfigFile(cli.configFile) : undefined;
      const options = { overrides: cli.overrides, ...(fallback && { fallbackFunctionConfig: fallback }) };
      if (cli.stream) {
        return runStream(readStdin(), undefined, (rl) => run(rl, deps, options));
      }
      return run(readStdin(), deps, options);
    }
  }
}

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
  if (stderr) process.stderr.write(redact(stderr));
  process.exitCode = exitCode;
  const exit = (e?: Error | null): void => {
    if (e) return failedWrite(e as NodeJS.ErrnoException);
    process.exit(exitCode);
  };
  process.stdout.write(stdout, exit);
}

main(process.argv.slice(2), process.env).then(
  (out) => finish(out.stdout, out.stderr, out.exitCode),
  (e: unknown) => {
    // No stack traces and no secrets for users; a usage or config mistake reads as one line.
    const message = e instanceof FnError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    finish('', `proxy-private-images: ${message}\n`, 1);
  },
);
