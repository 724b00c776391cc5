/**
 * The pipeline on a string: read -> config -> find -> parse references -> decide -> plan rewrites -> plan
 * Secrets -> render. A block ResourceList is read an item at a time with the config known first (it is read from
 * the root before the items), a stream a document at a time (its config comes from the command line), and their
 * workloads' images are found as each is read (`find/per-item.ts`); what is found is the same either way. No
 * process, network or clock access of its own; everything outside comes in through `RunDeps`. A run that fails changes nothing: a ResourceList comes back as it was with the errors as results,
 * a stream gives no output at all.
 */
import type { Document, YAMLMap } from 'yaml';
import type { Config } from './config/config.js';
import { loadConfig } from './config/load.js';
import { decideAll } from './decide/decide.js';
import { createPolicy } from './decide/policy.js';
import { FnError } from './errors.js';
import { expandLists, findImages, type ImageField } from './find/images.js';
import { inObjectOrder, itemFinder, type ItemFinder } from './find/per-item.js';
import { warningResult } from './plan/messages.js';
import { valueScan } from './find/values.js';
import { hasPathAnnotation } from './plan/objects.js';
import { EMPTY_PLAN, type Plan } from './plan/plan.js';
import { parseFieldReferences } from './plan/references.js';
import { planRewrites } from './plan/rewrites.js';
import { planPullSecrets } from './secret/helm-hooks.js';
import { candidateRefs, valueProblemResults, valueResults } from './plan/values.js';
import type { Prober, ProbeSettings } from './probe/types.js';
import { readInput, type Input } from './read/input.js';
import { keptImageNames, renderKustomization } from './render/kustomization.js';
import { renderSplice, SpliceError } from './render/splice.js';
import { exitCodeOf, failureReport, formatResult, redactor, redactResult, type Result } from './results.js';
import { findLicense, type LicenseSource } from './secret/license.js';

/**
 * A stream with no objects (Helm renders a chart with no templates, or only hooks under Helm 3) is answered with
 * one comment line, never with nothing: Helm 4 fails on a post-renderer's empty output, and a comment is no object
 * for Helm, kubectl or kustomize. Only with `--stream`: without it, empty input is refused, so a broken pipe
 * (`kustomize build | proxy-private-images`, kustomize failing) cannot read as an empty render.
 */
export const EMPTY_STREAM = '# proxy-private-images: the input holds no Kubernetes objects\n';

export interface RunDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly createProber: (settings: ProbeSettings) => Prober;
}

export interface RunOptions {
  /** Config fields from CLI flags; they override the functionConfig's. */
  readonly overrides?: Record<string, unknown>;
  /** Used when the input has no functionConfig, or kpt's empty default one (and always for a stream). */
  readonly fallbackFunctionConfig?: Record<string, unknown>;
  /** `--stream` and the legacy plugin: read the input as a plain manifest stream. */
  readonly stream?: boolean;
}

export interface RunOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: 0 | 1;
}

export async function run(text: string, deps: RunDeps, options: RunOptions = {}): Promise<RunOutput> {
  let redact = redactor([deps.env['LICENSE_ID']]);
  let input: Input;
  // Workloads' images are found as each item or document is read: that needs the config first (a config with
  // errors finds nothing early; it is loaded again below and its error reported as always).
  let early: { config: Config; finder: ItemFinder } | undefined;
  const visitItems = (fc: YAMLMap | undefined, doc: Document.Parsed): ItemFinder | undefined => {
    let config: Config;
    try {
      config = loadConfig(functionConfigOf(fc, doc, options.fallbackFunctionConfig), options.overrides);
    } catch (e) {
      if (e instanceof FnError) return undefined;
      throw e;
    }
    early = { config, finder: itemFinder(config) };
    return early.finder;
  };
  try {
    input = readInput(text, { ...(options.stream && { stream: true }), visitItems });
  } catch (e) {
    // Nothing trustworthy to echo back: no stdout at all, so no tool mistakes it for a result.
    return { stdout: '', stderr: errorText(e, redact), exitCode: 1 };
  }
  let prober: Prober | undefined;
  try {
    const found = early && input.visitor === early.finder ? early : undefined;
    const config = found?.config ?? loadConfig(functionConfigOf(input.functionConfig, input.docs[0], options.fallbackFunctionConfig), options.overrides);
    const license = findLicense(config, input.objects.map((o) => o.node), deps.env);
    // eslint-disable-next-line no-control-regex
    if (license.id !== undefined && /[\u0000-\u001f\u007f]/.test(license.id)) {
      throw new FnError('CONFIG_INVALID', 'the license id holds a line break or another control character: check where it comes from (license.id, the environment, or a License item)');
    }
    redact = redactor([license.id, deps.env['LICENSE_ID'], config.licenseId]);
    const { plan, fields } = await makePlan(input, config, license, found?.finder, () => (prober ??= deps.createProber(config.probe)));
    // warnings about the run itself (a dropped decision cache entry, decisions that could not be cached)
    const cacheNotes = (prober?.warnings?.() ?? []).map((message) => warningResult(message, 'DECISION_CACHE'));
    const results = [...plan.results, ...cacheNotes].map((r) => redactResult(r, redact));
    if (exitCodeOf(results) === 1) return failed(input, results);
    try {
      const stdout =
        config.output === 'kustomization' ? renderKustomization(input, plan, results, keptImageNames(fields, plan)) : renderSplice(input, plan, results);
      return { stdout: input.form === 'stream' && stdout.trim() === '' ? EMPTY_STREAM : stdout, stderr: stderrOf(results), exitCode: 0 };
    } catch (e) {
      if (e instanceof SpliceError) {
        return failed(input, [{ severity: 'error', message: `cannot write the output: ${e.message}`, tags: { code: 'OUTPUT_UNSUPPORTED' } }]);
      }
      throw e;
    }
  } catch (e) {
    if (!(e instanceof FnError)) throw e;
    const message = redact(e.message + (e.details.length > 1 ? `: ${e.details.join('; ')}` : ''));
    return { ...failed(input, [{ severity: 'error', message, tags: { code: e.code } }]), stderr: errorText(e, redact) };
  } finally {
    await prober?.close();
  }
}

/** The stages, each a pure step over the one before; only `decideAll` may reach the network, through the prober. */
async function makePlan(
  input: Input,
  config: Config,
  license: LicenseSource,
  early: ItemFinder | undefined,
  getProber: () => Prober,
): Promise<{ plan: Plan; fields: ImageField[] }> {
  const objects = expandLists(input.objects, input.aliases);
  early?.aliases.set(input.aliases);
  const scan = early?.scan ?? valueScan(config.imagesInValues, config.fieldSpecs, input.aliases);
  // the objects not seen while reading (all of them, for inputs read whole)
  const rest = findImages(early ? objects.filter((o) => !o.trimmed) : objects, config.fieldSpecs, input.aliases, scan.container);
  const fields = early ? inObjectOrder(early.fields, rest) : rest;
  const values = scan.finish(objects);
  const parsed = parseFieldReferences([...fields, ...values.fields], config);
  const found = [...valueProblemResults(values), ...parsed.results];
  if (exitCodeOf(found) === 1) return { plan: { ...EMPTY_PLAN, results: found }, fields };
  const decisions = await decideAll([...parsed.refs.values(), ...candidateRefs(values)], createPolicy(config), config.onError, getProber);
  const rewrites = planRewrites(parsed.refs, decisions, config, input.aliases);
  if (exitCodeOf(rewrites.results) === 1) return { plan: { ...EMPTY_PLAN, results: rewrites.results }, fields };
  const secrets = planPullSecrets(objects, rewrites.namespaces, rewrites.hookNamespaces, config, license.id);
  const licenseNodes = new Set(license.items);
  // kpt deletes the file of an item that goes missing, so a License from a package file stays.
  const drops = input.objects.filter((o) => licenseNodes.has(o.node) && !hasPathAnnotation(o.node));
  const plan: Plan = {
    rewrites: rewrites.rewrites,
    wirings: rewrites.wirings,
    creates: secrets.creates,
    updates: secrets.updates,
    drops,
    results: [...found, ...rewrites.results, ...valueResults(values, parsed.refs, decisions, rewrites.namespaces, config, objects), ...secrets.results],
  };
  return { plan, fields };
}

/** A failed run: the ResourceList unchanged but for its results (errors, then warnings); a stream: nothing. */
function failed(input: Input, results: readonly Result[]): RunOutput {
  const report = failureReport(results);
  const stderr = stderrOf(report);
  if (input.form === 'stream') return { stdout: '', stderr, exitCode: 1 };
  try {
    return { stdout: renderSplice(input, EMPTY_PLAN, report), stderr, exitCode: 1 };
  } catch (e) {
    if (e instanceof SpliceError) return { stdout: '', stderr, exitCode: 1 };
    throw e;
  }
}

function functionConfigOf(node: YAMLMap | undefined, doc: Document.Parsed | undefined, fallback: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const fc = node?.toJS(doc!, { maxAliasCount: 1000 }) as Record<string, unknown> | undefined;
  if (fallback && (!fc || isEmptyConfigMap(fc))) return fallback;
  return fc;
}

function isEmptyConfigMap(fc: Record<string, unknown>): boolean {
  if (fc['kind'] !== 'ConfigMap') return false;
  const data = fc['data'];
  return data === undefined || data === null || (typeof data === 'object' && Object.keys(data).length === 0);
}

/** stderr: one line per warning and error (info results are in the output's results). */
function stderrOf(results: readonly Result[]): string {
  return results
    .filter((r) => r.severity !== 'info')
    .map((r) => formatResult(r) + '\n')
    .join('');
}

function errorText(e: unknown, redact: (s: string) => string): string {
  if (!(e instanceof FnError)) throw e;
  const extra = e.details.length > 1 || (e.details.length === 1 && !e.message.includes(e.details[0]!)) ? e.details.map((d) => `proxy-private-images:   ${redact(d)}\n`).join('') : '';
  return `proxy-private-images: ${redact(e.message)}\n${extra}`;
}
