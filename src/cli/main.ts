/**
 * The command line, in-process: argv, environment, stdin, files and the prober come in through `CliIo`, the
 * answer goes out as `{stdout, stderr, exitCode}`. No process, clock or file-system access of its own, so tests
 * run it the way the bin does, without spawning (`src/main.ts` builds the real io).
 *
 * Every stderr line starts `proxy-private-images:`, whoever wrote it (a usage error, the pipeline's results, the
 * stream wrapper), so a user reading kustomize's or a CI job's mixed stderr can tell which tool spoke.
 */
import { parseAllDocuments, parseDocument } from 'yaml';
import { loadConfig } from '../config/load.js';
import { decideAll } from '../decide/decide.js';
import { createPolicy } from '../decide/policy.js';
import { FnError } from '../errors.js';
import { MAX_INPUT_BYTES, tooLarge } from '../read/input.js';
import { describeYamlError } from '../read/yaml-errors.js';
import type { Prober, ProbeSettings } from '../probe/types.js';
import { warningResult } from '../plan/messages.js';
import { formatResult, redactor } from '../results.js';
import { run, type RunDeps, type RunOptions } from '../run.js';
import { parseCli, USAGE } from './args.js';
import { runCheck } from './check.js';
import { legacyPluginConfig } from './legacy-plugin.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : 'dev';

export const STDERR_PREFIX = 'proxy-private-images: ';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** All of stdin. Called only by the commands that read input (not by --help, --version or check). May throw an FnError (input too large). */
  readStdin(): Buffer | string;
  /** A file named on the command line (--config, the legacy plugin's config file), as UTF-8; throws an errno error when it cannot. */
  readFile(path: string): string;
  /** The prober that a render and `check` both use: the decision cache in front of the network in the bin, a script in tests. */
  createProber(settings: ProbeSettings): Prober;
}

export interface CliOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: 0 | 1;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<CliOutput> {
  const redact = redactor([io.env['LICENSE_ID']]);
  let out: CliOutput;
  try {
    out = await dispatch(argv, io);
  } catch (e) {
    // No stack traces and no secrets for users; a usage or config mistake reads as one line (plus detail lines).
    // Redacted as values: the run's own stderr is built from redacted results already.
    const message = redact(e instanceof FnError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`);
    const details = e instanceof FnError && e.details.length > 1 ? e.details.map((d) => `  ${redact(d)}\n`).join('') : '';
    out = { stdout: '', stderr: `${message}\n${details}`, exitCode: 1 };
  }
  return { stdout: out.stdout, stderr: prefixLines(out.stderr), exitCode: out.exitCode };
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<CliOutput> {
  const deps: RunDeps = { env: io.env, createProber: io.createProber };

  const pluginConfig = legacyPluginConfig(argv, io.env, io.readFile);
  if (pluginConfig !== undefined) {
    const config = parseConfigText(pluginConfig, 'the plugin config');
    return run(readInput(io), deps, { stream: true, fallbackFunctionConfig: config });
  }

  const cli = parseCli(argv);
  switch (cli.command) {
    case 'help':
      return { stdout: USAGE, stderr: '', exitCode: 0 };
    case 'version':
      return { stdout: `proxy-private-images ${VERSION}\n`, stderr: '', exitCode: 0 };
    case 'check': {
      if (cli.images.length === 0) throw new FnError('USAGE', 'check needs at least one IMAGE (see --help)');
      const fallback = cli.configFile ? readConfigFile(io, cli.configFile) : undefined;
      const config = loadConfig(fallback, { appSlug: 'check', ...cli.overrides });
      let prober: Prober | undefined;
      try {
        // The same decision a render makes (run.ts): policy first, one probing pass, then probe.onError.
        const out = await runCheck(cli.images, (refs) => decideAll(refs, createPolicy(config), config.onError, () => (prober ??= io.createProber(config.probe))));
        // what a render would report about the run itself (a decision cache entry dropped, decisions not cached)
        const stderr = (prober?.warnings?.() ?? []).map((message) => formatResult(warningResult(message, 'DECISION_CACHE')) + '\n').join('');
        return { stdout: out.stdout, stderr, exitCode: out.exitCode };
      } finally {
        await prober?.close();
      }
    }
    case 'run': {
      const fallback = cli.configFile ? readConfigFile(io, cli.configFile) : undefined;
      const options: RunOptions = { overrides: cli.overrides, ...(fallback && { fallbackFunctionConfig: fallback }) };
      return run(readInput(io), deps, { ...options, ...(cli.stream && { stream: true }) });
    }
  }
}

/** stdin as text; the size is checked on the bytes, before decoding (a string of several hundred MB cannot even be made). */
function readInput(io: CliIo): string {
  const data = io.readStdin();
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > MAX_INPUT_BYTES) throw tooLarge(bytes);
  return typeof data === 'string' ? data : data.toString('utf8');
}

function readConfigFile(io: CliIo, path: string): Record<string, unknown> {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (e) {
    throw new FnError('USAGE', `cannot read --config ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfigText(text, `--config ${path}`);
}

/** A functionConfig file's text -> the object (one YAML document holding a mapping). */
function parseConfigText(text: string, what: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, merge: true, logLevel: 'error' });
  if (doc.errors.some((e) => e.code === 'MULTIPLE_DOCS')) {
    throw new FnError('CONFIG_INVALID', `${what} holds ${parseAllDocuments(text).length} YAML documents, expected one functionConfig`);
  }
  if (doc.errors.length > 0) throw new FnError('CONFIG_INVALID', `${what} is not valid YAML: ${describeYamlError(doc.errors[0]!)}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new FnError('CONFIG_INVALID', `${what} uses YAML aliases that expand too far: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FnError('CONFIG_INVALID', `${what} must hold a mapping`);
  return value as Record<string, unknown>;
}

/** Puts `proxy-private-images: ` before every line that does not start with it yet. */
export function prefixLines(text: string): string {
  if (text === '') return text;
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return lines.map((l) => (l.startsWith(STDERR_PREFIX) ? l : STDERR_PREFIX + l)).join('\n') + '\n';
}
