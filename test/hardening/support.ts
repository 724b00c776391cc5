/**
 * Shared pieces of the hardening tests: run the real bundle (`node dist/proxy-private-images.js`) with given stdin,
 * and the assertions every bad-input row makes (exit 1, one clear line, no stack trace, stdout empty or the
 * untouched input plus error results).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE = join(ROOT, 'dist', 'proxy-private-images.js');
/** A recognisable license id: any plain occurrence in output is a leak. */
export const SECRET_LICENSE = 'LIC-hardening-2f9a7c41e6';
/** An image on loopback (discard port, nothing listens): rows that must fail before any probe use it, so a row that
 * passed by mistake would probe this machine only, never the internet. */
/** Flags that make a valid config with no network: every image is decided by a glob. */
export const OK_ARGS = ['--app-slug', 'app', '--private', 'quay.io/**', '--public', 'docker.io/**'];
export const ENV = { LICENSE_ID: SECRET_LICENSE };

/** Billion laughs: `levels` anchors, each a list of nine aliases to the one before. */
export function aliasBomb(levels = 9): string {
  const names = 'abcdefghijklmnop';
  let s = `  ${names[0]}: &${names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n`;
  for (let i = 1; i < levels; i++) s += `  ${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]\n`;
  return s;
}

export const LOOPBACK_IMAGE = '127.0.0.1:9/org/api:1';

export interface Exec {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function bundle(): string {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first (npm test does)`);
  return BUNDLE;
}

export interface ExecOptions {
  readonly env?: Record<string, string | undefined>;
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
}

/** Runs the bundle synchronously with `input` on stdin (LICENSE_ID unset unless `env` sets it). */
export function execFn(input: string | Buffer, args: readonly string[] = [], options: ExecOptions = {}): Exec {
  const env: Record<string, string | undefined> = { ...process.env, LICENSE_ID: undefined, ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const r = spawnSync(process.execPath, [...(options.nodeArgs ?? []), bundle(), ...args], {
    input,
    env: env as NodeJS.ProcessEnv,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: 170_000,
    ...(options.cwd && { cwd: options.cwd }),
  });
  if (r.error) throw new Error(`could not run the bundle: ${r.error.message}`);
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Like execFn, but asynchronous: for runs that talk to a loopback server in this process. */
export function execFnAsync(input: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<Exec> {
  const env: Record<string, string | undefined> = { ...process.env, LICENSE_ID: undefined, ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bundle(), ...args], { env: env as NodeJS.ProcessEnv, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** No JS stack trace lines (`    at fn (file:1:2)`) and no `node:internal` noise anywhere. */
export function assertNoStack(text: string, where: string): void {
  assert.doesNotMatch(text, /^\s+at /m, `${where} holds a stack trace:\n${text.slice(0, 2000)}`);
  assert.doesNotMatch(text, /node:internal|FATAL ERROR|Error: .*\n\s+at /, `${where} holds an internal error:\n${text.slice(0, 2000)}`);
}

/** The first stderr line: `proxy-private-images: <message>`, or a `[error] <where>: <message>` result line. */
export function firstLine(stderr: string): string {
  return stderr.split('\n')[0] ?? '';
}

/** Unparsable input: exit 1, empty stdout, one `proxy-private-images: ...` line that matches `message`. */
export function assertRejected(r: Exec, message: RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.status, 1, `exit ${r.status}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', 'stdout must be empty for input that cannot be read');
  assertNoStack(r.stderr, 'stderr');
  assert.match(firstLine(r.stderr), /^proxy-private-images: \S/, `stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
}

export interface ResourceListOut {
  apiVersion: string;
  kind: string;
  items: Record<string, unknown>[];
  functionConfig?: unknown;
  results?: { severity: string; message: string; field?: { path: string }; resourceRef?: Record<string, string> }[];
}

/**
 * A readable ResourceList with a bad config or image: exit 1, stdout = the input's items unchanged plus error results
 * (each matching `message` somewhere), stderr names the problem.
 */
export function assertFailedWithInput(r: Exec, input: string, message: RegExp): ResourceListOut {
  assert.equal(r.signal, null, `killed by ${r.signal}`);
  assert.equal(r.status, 1, `exit ${r.status}, stderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`);
  assertNoStack(r.stderr, 'stderr');
  assertNoStack(r.stdout, 'stdout');
  assert.notEqual(r.stdout, '', 'stdout must carry the input and the error results');
  const out = parse(r.stdout) as ResourceListOut;
  const before = parse(input) as ResourceListOut;
  assert.equal(out.kind, 'ResourceList');
  assert.deepEqual(out.items ?? [], before.items ?? [], 'items must be exactly the input items');
  assert.deepEqual(out.functionConfig, before.functionConfig, 'functionConfig must be as it was');
  const errors = (out.results ?? []).filter((x) => x.severity === 'error');
  assert.ok(errors.length > 0, `no error result in ${JSON.stringify(out.results)}`);
  assert.ok(errors.some((e) => message.test(e.message)), `no error result matches ${message}: ${JSON.stringify(errors)}`);
  assert.match(r.stderr, message);
  return out;
}

export const RL_HEAD = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n';

/** A ResourceList (YAML text) with one Pod per image, in namespace `ns`. */
export function podList(images: readonly string[], functionConfig?: string): string {
  const items = images
    .map(
      (image, i) =>
        `- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p${i}\n    namespace: ns\n  spec:\n    containers:\n    - name: c\n      image: ${image}\n`,
    )
    .join('');
  return `${RL_HEAD}items:\n${items || '[]\n'}${functionConfig ? `functionConfig:\n${indent(functionConfig, 2)}` : ''}`;
}

export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n')
    .replace(/\n?$/, '\n');
}

/** Parses a multi-document stream (used by `--stream` checks). */
export function docs(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => (Array.isArray(d) ? d : d.toJS()));
}
