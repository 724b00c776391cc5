/**
 * The golden tier: every folder in test/testdata/ is a case, run in-process through `runCli` with a scripted
 * prober (no network), twice. How a case is laid out, and how to add or update one: test/testdata/README.md.
 *
 *   UPDATE_GOLDEN=1 npx mocha ... test/golden.test.ts   rewrites expected.yaml / expected-stderr.txt / expected-exit
 *                                                        (never errors.txt, which is written by hand); review the diff
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isNode, isScalar, parse, parseAllDocuments, parseDocument } from 'yaml';
import { runCli, type CliOutput } from '../src/cli/main.js';
import type { ProbeOutcome, ProbeVerdict, Prober } from '../src/probe/types.js';
import { formatReference, parseReference } from '../src/reference/parse.js';
import { EXAMPLE_CASES } from './support/capture-inputs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TESTDATA = join(ROOT, 'test', 'testdata');
const EXAMPLES = join(ROOT, 'examples');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
/** The license id of every case unless its env file says otherwise; the examples' .expected/ use the same one. */
export const GOLDEN_LICENSE = 'example-license-id';
const VERDICTS: readonly ProbeVerdict[] = ['public', 'private', 'private-404', 'inconclusive'];

interface Case {
  readonly name: string;
  readonly dir: string;
  readonly input: string;
  readonly argv: readonly string[];
  /** stdin and stdout are plain manifest streams (--stream, or the legacy plugin) */
  readonly stream: boolean;
  readonly env: Record<string, string>;
  readonly script: ReadonlyMap<string, ProbeOutcome>;
  readonly errors?: readonly RegExp[];
  /** errors.txt lines that start with `!`: neither stderr nor any error result may match them. */
  readonly forbidden?: readonly RegExp[];
  readonly skipSecondRun?: string;
  readonly knownDefect?: string;
}

function read(dir: string, file: string): string | undefined {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Non-empty lines that are not `# comments`. */
function lines(text: string | undefined): string[] {
  return (text ?? '').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

function loadCase(name: string): Case {
  const dir = join(TESTDATA, name);
  const input = read(dir, 'input.yaml');
  if (input === undefined) throw new Error(`test/testdata/${name} has no input.yaml`);
  const expected = read(dir, 'expected.yaml');
  const errorsText = read(dir, 'errors.txt');
  if (expected !== undefined && errorsText !== undefined) throw new Error(`test/testdata/${name} has both expected.yaml and errors.txt: keep one`);
  if (expected === undefined && errorsText === undefined && !UPDATE) {
    throw new Error(`test/testdata/${name} has neither expected.yaml nor errors.txt: write errors.txt, or run with UPDATE_GOLDEN=1 and review expected.yaml`);
  }

  const env: Record<string, string> = { LICENSE_ID: GOLDEN_LICENSE };
  for (const line of lines(read(dir, 'env'))) {
    const unset = /^unset (\S+)$/.exec(line);
    if (unset) {
      delete env[unset[1]!];
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`test/testdata/${name}/env: "${line}" is not KEY=VALUE or "unset KEY"`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }

  // kustomize's legacy exec plugin gets the config file as its only argument; everyone else gets --config
  const args = lines(read(dir, 'args'));
  const config = existsSync(join(dir, 'config.yaml')) ? 'config.yaml' : undefined;
  const legacy = env['KUSTOMIZE_PLUGIN_CONFIG_ROOT'] !== undefined || env['KUSTOMIZE_PLUGIN_CONFIG_STRING'] !== undefined;
  if (legacy && args.length > 0) throw new Error(`test/testdata/${name}: a legacy plugin case takes no args (kustomize passes only the config file)`);
  const argv = legacy ? (config ? [config] : []) : [...args, ...(config ? ['--config', config] : [])];

  const script = new Map<string, ProbeOutcome>();
  const proberText = read(dir, 'prober.yaml');
  if (proberText !== undefined) {
    const table = parse(proberText) as Record<string, { verdict?: unknown; reason?: unknown; cached?: unknown }>;
    if (table === null || typeof table !== 'object' || Array.isArray(table)) throw new Error(`test/testdata/${name}/prober.yaml must map image -> {verdict, reason}`);
    for (const [image, o] of Object.entries(table)) {
      if (!VERDICTS.includes(o?.verdict as ProbeVerdict) || typeof o.reason !== 'string') {
        throw new Error(`test/testdata/${name}/prober.yaml ${image}: want {verdict: ${VERDICTS.join('|')}, reason: text}`);
      }
      script.set(formatReference(parseReference(image)), { verdict: o.verdict as ProbeVerdict, reason: o.reason, ...(o.cached === true && { cached: true }) });
    }
  }
  const skip = read(dir, 'skip-second-run');
  const defect = read(dir, 'known-defect');
  return {
    name,
    dir,
    input,
    argv,
    stream: legacy || args.includes('--stream'),
    env,
    script,
    ...(errorsText !== undefined && {
      errors: lines(errorsText).filter((l) => !l.startsWith('!')).map((l) => new RegExp(l, 'm')),
      forbidden: lines(errorsText).filter((l) => l.startsWith('!')).map((l) => new RegExp(l.slice(1), 'm')),
    }),
    ...(skip !== undefined && { skipSecondRun: skip.trim() }),
    ...(defect !== undefined && { knownDefect: defect.trim() }),
  };
}

interface Ran extends CliOutput {
  /** Images the function asked the prober about, normalised. */
  readonly asked: string[];
  /** Images it asked about that prober.yaml does not script. */
  readonly unscripted: string[];
}

async function runCase(c: Case, input: string): Promise<Ran> {
  const asked: string[] = [];
  const unscripted: string[] = [];
  const prober: Prober = {
    async probeAll(refs) {
      const out = new Map<string, ProbeOutcome>();
      for (const ref of refs) {
        const key = formatReference(ref);
        asked.push(key);
        const o = c.script.get(key);
        if (o) out.set(key, o);
        else unscripted.push(key);
      }
      return out;
    },
    async close() {},
  };
  const out = await runCli(c.argv, {
    env: c.env,
    readStdin: () => input,
    readFile: (path) => readFileSync(resolve(c.dir, path), 'utf8'),
    createProber: () => prober,
  });
  return { ...out, asked, unscripted };
}

/** A ResourceList's text without its `results` pair (a second run reports what it left alone, not what it changed). */
function withoutResults(text: string): string {
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) return text;
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'results');
  if (!pair || !isScalar(pair.key) || !isNode(pair.value)) return text;
  return text.slice(0, pair.key.range![0]) + text.slice(pair.value.range![2]);
}

/** error results' messages, when stdout is a ResourceList (YAML or JSON). */
function errorMessages(stdout: string): string[] {
  if (stdout.trim() === '') return [];
  try {
    const rl = parse(stdout) as { results?: { severity?: string; message?: string }[] };
    return (rl?.results ?? []).filter((r) => r.severity === 'error').map((r) => String(r.message));
  } catch {
    return [];
  }
}

function count(text: string, needle: string): number {
  return needle === '' ? 0 : text.split(needle).length - 1;
}

/** Invariants of every run: prefixed stderr, no stack trace, the license id nowhere it was not already. */
function assertHygiene(c: Case, input: string, r: Ran, which: string): void {
  const where = `${c.name} (${which})`;
  for (const line of r.stderr.trimEnd().split('\n').filter(Boolean)) {
    assert.match(line, /^proxy-private-images: /, `${where}: stderr line without the prefix: ${JSON.stringify(line)}`);
  }
  assert.doesNotMatch(r.stderr + r.stdout, /^\s+at \S+ \(/m, `${where}: a stack trace`);
  assert.doesNotMatch(r.stderr, /internal error/, `${where}: ${r.stderr}`);
  const id = c.env['LICENSE_ID'];
  if (id) {
    assert.ok(!r.stderr.includes(id), `${where}: the license id is on stderr`);
    const config = read(c.dir, 'config.yaml') ?? '';
    assert.ok(count(r.stdout, id) <= count(input + config, id), `${where}: the license id is in stdout more often than in the input`);
  }
  assert.deepEqual(r.unscripted, [], `${where} probed images that prober.yaml does not script (add them there, or to images.private / images.public)`);
}

function writeOrRemove(path: string, text: string | undefined): void {
  if (text === undefined) rmSync(path, { force: true });
  else writeFileSync(path, text);
}

/** What the case expects, checked against the first run; with UPDATE_GOLDEN=1 expectations are rewritten instead. */
function assertExpected(c: Case, r: Ran): void {
  if (c.errors) {
    assert.equal(r.exitCode, 1, `${c.name}: errors.txt expects exit 1\nstderr: ${r.stderr}`);
    const seen = [r.stderr, ...errorMessages(r.stdout)];
    for (const re of c.errors) assert.ok(seen.some((s) => re.test(s)), `${c.name}: no stderr or error result matches ${re}\nstderr: ${r.stderr}\nerror results: ${JSON.stringify(seen.slice(1))}`);
    for (const re of c.forbidden ?? []) assert.ok(!seen.some((s) => re.test(s)), `${c.name}: stderr or an error result matches ${re}, which errors.txt forbids\nstderr: ${r.stderr}`);
    // The two failure shapes (docs/failure-modes.md): refused (no stdout) or failed (the input's items unchanged, plus results)
    if (r.stdout !== '') {
      assert.ok(!c.stream, `${c.name}: a failed stream or legacy-plugin run must leave stdout empty`);
      const out = parse(r.stdout) as { items?: unknown; functionConfig?: unknown };
      const before = parse(c.input) as { items?: unknown; functionConfig?: unknown };
      assert.deepEqual(out.items ?? [], before.items ?? [], `${c.name}: a failed run changed the items`);
      assert.deepEqual(out.functionConfig, before.functionConfig, `${c.name}: a failed run changed the functionConfig`);
    }
    return;
  }
  // a known-defect case's expectation is what should happen, written by hand: never overwritten with what does
  if (UPDATE && c.knownDefect === undefined) {
    writeFileSync(join(c.dir, 'expected.yaml'), r.stdout);
    writeOrRemove(join(c.dir, 'expected-stderr.txt'), r.stderr === '' ? undefined : r.stderr);
    writeOrRemove(join(c.dir, 'expected-exit'), r.exitCode === 0 ? undefined : `${r.exitCode}\n`);
    return;
  }
  assert.equal(r.stdout, read(c.dir, 'expected.yaml'), `${c.name}: stdout differs from expected.yaml (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
  assert.equal(r.stderr, read(c.dir, 'expected-stderr.txt') ?? '', `${c.name}: stderr differs from expected-stderr.txt`);
  assert.equal(r.exitCode, Number((read(c.dir, 'expected-exit') ?? '0').trim()), `${c.name}: exit code differs from expected-exit`);
}

/** The second run takes the first's output as its input. */
async function assertSecondRun(c: Case, first: Ran): Promise<void> {
  if (c.skipSecondRun !== undefined || first.stdout.trim() === '') return;
  const second = await runCase(c, first.stdout);
  assertHygiene(c, first.stdout, second, 'second run');
  assert.equal(second.exitCode, first.exitCode, `${c.name}: the second run exits ${second.exitCode}, the first ${first.exitCode}\n${second.stderr}`);
  if (first.exitCode !== 0) {
    // a failed run changes nothing, so running it again fails the same way
    assert.equal(second.stdout, first.stdout, `${c.name}: a failed run's output, run again, changed`);
    assert.equal(second.stderr, first.stderr, `${c.name}: a failed run's output, run again, reports differently`);
    return;
  }
  assert.equal(withoutResults(second.stdout), withoutResults(first.stdout), `${c.name}: the second run changed the output (not idempotent)`);
}

function caseNames(): string[] {
  return readdirSync(TESTDATA)
    .filter((d) => statSync(join(TESTDATA, d)).isDirectory())
    .sort();
}

describe('golden tier: test/testdata/* in-process through runCli, twice', () => {
  const names = caseNames();

  it('finds the cases (a tier that finds none must not pass)', () => {
    assert.ok(names.length >= 20, `only ${names.length} cases under ${relative(ROOT, TESTDATA)}`);
    for (const n of names) assert.ok(existsSync(join(TESTDATA, n, 'input.yaml')), `test/testdata/${n} has no input.yaml`);
  });

  for (const name of names) {
    const defect = existsSync(join(TESTDATA, name, 'known-defect'));
    it(defect ? `${name} (known defect: fails until fixed)` : name, async () => {
      const c = loadCase(name);
      const check = async (): Promise<void> => {
        const first = await runCase(c, c.input);
        assertHygiene(c, c.input, first, 'first run');
        const unused = [...c.script.keys()].filter((k) => !first.asked.includes(k));
        assert.deepEqual(unused, [], `${name}: prober.yaml scripts images the run never asked about`);
        assertExpected(c, first);
        await assertSecondRun(c, first);
      };
      if (c.knownDefect === undefined) return check();
      // A known defect: the case states what should happen, and fails until the defect is fixed.
      let failure: unknown;
      await check().catch((e: unknown) => (failure = e));
      assert.ok(failure !== undefined, `${name} passes now: the known defect (${c.knownDefect}) is fixed, delete test/testdata/${name}/known-defect`);
    });
  }
});

/** kustomize drops the annotations of its own and of kpt from its build output. */
function withoutToolAnnotations(obj: any): any {
  const o = structuredClone(obj);
  const a = o?.metadata?.annotations;
  if (a) {
    for (const k of Object.keys(a)) if (/^(config\.kubernetes\.io|internal\.config\.kubernetes\.io|config\.k8s\.io|kustomize\.config\.k8s\.io)\//.test(k)) delete a[k];
    if (Object.keys(a).length === 0) delete o.metadata.annotations;
  }
  return o;
}

function key(o: any): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
}

describe('golden tier: every example is a case, in step with examples/', () => {
  const inUse = new Set(EXAMPLE_CASES.map((c) => c.example));

  it('every examples/* folder has a case, and every example case has its folder', () => {
    const folders = readdirSync(EXAMPLES).filter((d) => statSync(join(EXAMPLES, d)).isDirectory());
    assert.deepEqual([...inUse].sort(), folders.sort());
    for (const c of EXAMPLE_CASES) assert.ok(existsSync(join(TESTDATA, c.case, 'input.yaml')), `test/testdata/${c.case} is missing: node --import tsx test/support/capture-inputs.ts --write`);
  });

  for (const c of EXAMPLE_CASES) {
    const how = c.how;
    if (how.tool === 'copy') {
      it(`${c.case}: input.yaml is examples/${c.example}/${how.file}, and expected.yaml is its .expected/output.yaml`, () => {
        assert.equal(read(join(TESTDATA, c.case), 'input.yaml'), read(join(EXAMPLES, c.example), how.file), 'copy it again: node --import tsx test/support/capture-inputs.ts --write');
        const tool = read(join(EXAMPLES, c.example, '.expected'), 'output.yaml');
        assert.ok(tool !== undefined, `examples/${c.example}/.expected/output.yaml is missing`);
        assert.equal(read(join(TESTDATA, c.case), 'expected.yaml'), tool, `the golden and examples/${c.example}/.expected/output.yaml disagree`);
      });
    }
    if (how.tool === 'kustomize' || how.tool === 'kubectl-legacy-plugin') {
      it(`${c.case}: expected.yaml holds the objects of examples/${c.example}/.expected/output.yaml (kustomize's build of the function's output)`, () => {
        const golden = read(join(TESTDATA, c.case), 'expected.yaml') ?? '';
        const ours = how.tool === 'kustomize' ? ((parse(golden) as { items?: unknown[] })?.items ?? []) : parseAllDocuments(golden).map((d) => (d as { toJS(): unknown }).toJS());
        const built = parseAllDocuments(read(join(EXAMPLES, c.example, '.expected'), 'output.yaml') ?? '').map((d) => (d as { toJS(): unknown }).toJS());
        const byKey = (objs: unknown[]): [string, unknown][] => objs.map((o) => [key(o), withoutToolAnnotations(o)] as [string, unknown]).sort(([a], [b]) => a.localeCompare(b));
        assert.deepEqual(byKey(ours), byKey(built));
      });
    }
  }
});

describe('golden tier: docs/failure-modes.md names its cases', () => {
  it('every fm-* case is named in the doc, and every case the doc names exists', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'failure-modes.md'), 'utf8');
    const named = new Set(doc.match(/\bfm-[a-z0-9-]*[a-z0-9]\b/g) ?? []);
    const cases = caseNames().filter((n) => n.startsWith('fm-'));
    assert.deepEqual(cases.filter((n) => !named.has(n)), [], 'cases that docs/failure-modes.md does not name in its case column');
    assert.deepEqual([...named].filter((n) => !cases.includes(n)), [], 'cases docs/failure-modes.md names that test/testdata lacks');
  });
});
