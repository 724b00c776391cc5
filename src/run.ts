/**
 * The pipeline on a string: read -> config -> find images -> decide ->
 * rewrite -> pull Secrets -> write. No process, network or clock access of
 * its own; everything outside comes in through `RunDeps`.
 */
import type { YAMLMap } from 'yaml';
import { loadConfig } from './config/load.js';
import type { Config } from './config/config.js';
import { decideAll } from './decide/decide.js';
import { createPolicy, type Decision } from './decide/policy.js';
import { FnError } from './errors.js';
import { findImages, type ImageField } from './find/images.js';
import { writeResourceList, type Edit } from './io/edits.js';
import { parseResourceList, scalarString, type ParsedResourceList } from './io/resource-list.js';
import { kustomizationOutput } from './output/kustomization.js';
import type { Prober, ProbeSettings } from './probe/types.js';
import { BadReferenceError, formatReference, parseReference, type ImageRef } from './reference/parse.js';
import { exitCodeOf, formatResult, redactor, type Result } from './results.js';
import { needsPullSecret, onProxyHost, proxiedReferenceProblem, targetReference } from './rewrite/proxy-ref.js';
import { findLicense } from './secret/license.js';
import { planSecrets } from './secret/upsert.js';

export interface RunDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly createProber: (settings: ProbeSettings) => Prober;
}

export interface RunOptions {
  /** Config fields from CLI flags; they override the functionConfig's. */
  readonly overrides?: Record<string, unknown>;
  /** Used when the ResourceList has no functionConfig, or kpt's empty default one. */
  readonly fallbackFunctionConfig?: Record<string, unknown>;
}

export interface RunOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: 0 | 1;
}

export async function run(input: string, deps: RunDeps, options: RunOptions = {}): Promise<RunOutput> {
  let rl: ParsedResourceList;
  try {
    rl = parseResourceList(input);
  } catch (e) {
    // Nothing trustworthy to echo back: no stdout at all, so no tool mistakes it for a result.
    return { stdout: '', stderr: errorText(e, redactor([deps.env['LICENSE_ID']])), exitCode: 1 };
  }
  let redact = redactor([deps.env['LICENSE_ID']]);
  let prober: Prober | undefined;
  try {
    const config = loadConfig(functionConfigOf(rl, options.fallbackFunctionConfig), options.overrides);
    const license = findLicense(config, rl.items, deps.env);
    redact = redactor([license.id, deps.env['LICENSE_ID'], config.licenseId]);
    const { edits, results } = await transform(rl, config, license.id, license.items, () => (prober ??= deps.createProber(config.probe)));
    for (const message of prober?.warnings?.() ?? []) results.push({ severity: 'warning', message });
    const safe = results.map((r) => redactResult(r, redact));
    const failed = exitCodeOf(safe) === 1;
    // A failed run changes nothing, so it reports no rewrites: errors first, then warnings (kpt shows 4 result lines).
    const reported = failed ? [...safe.filter((r) => r.severity === 'error'), ...safe.filter((r) => r.severity === 'warning')] : safe;
    const stdout = config.output === 'kustomization' && !failed
      ? kustomizationOutput(rl, edits, safe)
      : writeResourceList(rl, failed ? [] : edits, reported);
    return { stdout, stderr: stderrSummary(safe), exitCode: exitCodeOf(safe) };
  } catch (e) {
    if (!(e instanceof FnError)) throw e;
    // The input stays as it was, with the error as a result: kpt and kustomize fail on the exit code and write nothing.
    const result: Result = { severity: 'error', message: redact(e.message + (e.details.length > 1 ? `: ${e.details.join('; ')}` : '')) };
    return { stdout: writeResourceList(rl, [], [result]), stderr: errorText(e, redact), exitCode: 1 };
  } finally {
    await prober?.close();
  }
}

function functionConfigOf(rl: ParsedResourceList, fallback: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const fc = rl.functionConfig?.toJS(rl.doc, { maxAliasCount: 1000 }) as Record<string, unknown> | undefined;
  if (fallback && (!fc || isEmptyConfigMap(fc))) return fallback;
  return fc;
}

function isEmptyConfigMap(fc: Record<string, unknown>): boolean {
  if (fc['kind'] !== 'ConfigMap') return false;
  const data = fc['data'];
  return data === undefined || data === null || (typeof data === 'object' && Object.keys(data).length === 0);
}

interface Transformed {
  edits: Edit[];
  results: Result[];
}

async function transform(
  rl: ParsedResourceList,
  config: Config,
  licenseId: string | undefined,
  licenseItems: readonly YAMLMap[],
  getProber: () => Prober,
): Promise<Transformed> {
  const results: Result[] = [];
  const edits: Edit[] = [];
  const fields = findImages(rl.doc, rl.items, config.fieldSpecs);

  // Parse every image once; bad ones are errors that name the item and field.
  const refs = new Map<ImageField, ImageRef>();
  const parsed = new Map<string, ImageRef | BadReferenceError>();
  for (const field of fields) {
    if (typeof field.value !== 'string') {
      results.push(fieldResult(field, 'error', `image must be a string, got ${describeValue(field.value)}`));
      continue;
    }
    let ref = parsed.get(field.value);
    if (ref === undefined) {
      try {
        ref = parseReference(field.value);
      } catch (e) {
        if (!(e instanceof BadReferenceError)) throw e;
        // Our own earlier output for a registry with a port (see proxiedReferenceProblem) is on the proxy
        // host; it is decided by that host, so a second run leaves it alone instead of failing.
        ref = onProxyHost(field.value, config.proxyHost) ?? e;
      }
      parsed.set(field.value, ref);
    }
    if (ref instanceof BadReferenceError) results.push(fieldResult(field, 'error', ref.message));
    else refs.set(field, ref);
  }
  if (results.some((r) => r.severity === 'error')) return { edits, results };

  const decisions = await decideAll([...refs.values()], createPolicy(config), config.onError, getProber);

  const warned = new Set<string>();
  /** Images left as they are get one info result each (not one per field), so a user can see why. */
  const reported = new Set<string>();
  const secretNamespaces = new Set<string>();
  for (const [field, ref] of refs) {
    const key = formatReference(ref);
    const decision = decisions.get(key)!;
    if (decision.kind === 'undecided') {
      results.push(fieldResult(field, 'error', `cannot tell whether ${field.value as string} is private: ${decision.reason} (set probe.onError to private or public, or list the image in images.private / images.public)`));
      continue;
    }
    if (decision.warn && !warned.has(key)) {
      warned.add(key);
      results.push(fieldResult(field, 'warning', warningText(field.value as string, decision)));
    }
    const target = targetReference(ref, decision, config);
    if (target === undefined || target === field.value) {
      if (!reported.has(key)) {
        reported.add(key);
        results.push(fieldResult(field, 'info', `${field.value as string} left as is: ${KEPT[decision.kind]} (${decision.reason})`));
      }
    } else {
      const problem = proxiedReferenceProblem(target);
      if (problem) results.push(fieldResult(field, 'warning', `${field.value as string} -> ${target}: ${problem}`));
      edits.push({ op: 'setImage', node: field.node, value: target, replace: field.replace });
      results.push({
        ...fieldResult(field, 'info', `${decision.kind === 'private' ? 'private' : 'public'} image (${decision.reason}): ${field.value as string} -> ${target}`),
        field: { path: field.path, currentValue: field.value as string, proposedValue: target },
      });
    }
    if (needsPullSecret(decision)) {
      secretNamespaces.add(field.namespace);
      if (field.podSpec) edits.push({ op: 'addPullSecret', podSpec: field.podSpec, name: config.pullSecretName, item: field.item });
      else results.push(fieldResult(field, 'warning', `${field.value as string} needs the pull Secret ${config.pullSecretName}, but this field is not in a pod spec: add imagePullSecrets where this resource's pods get it`));
    }
  }
  if (results.some((r) => r.severity === 'error')) return { edits, results };

  for (const item of licenseItems) {
    if (!hasPathAnnotation(item)) edits.push({ op: 'removeItem', item });
  }
  const secrets = planSecrets(rl.items, secretNamespaces, config, licenseId);
  edits.push(...secrets.edits);
  results.push(...secrets.results);
  return { edits, results };
}

const KEPT: Record<Decision['kind'], string> = {
  public: 'public',
  vendor: 'vendor registry, pulled with the pull Secret',
  proxied: 'already on the proxy, pulled with the pull Secret',
  anonymous: "already on the proxy's anonymous path",
  private: 'private',
  undecided: 'undecided',
};

function warningText(image: string, decision: Decision): string {
  if (decision.source === 'onError') return `${image}: ${decision.reason}`;
  return `${image} treated as private: ${decision.reason}; registries such as quay.io, ghcr.io and ECR answer 404 to anonymous users for private repositories, but a 404 also means a missing tag: check the reference`;
}

function hasPathAnnotation(item: YAMLMap): boolean {
  const annotations = item.getIn(['metadata', 'annotations'], true) as YAMLMap | undefined;
  if (!annotations || typeof annotations.get !== 'function') return false;
  return (
    scalarString(annotations.get('internal.config.kubernetes.io/path', true)) !== undefined ||
    scalarString(annotations.get('config.kubernetes.io/path', true)) !== undefined
  );
}

function fieldResult(field: ImageField, severity: Result['severity'], message: string): Result {
  return { severity, message, resourceRef: { ...field.ref }, field: { path: field.path } };
}

function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'object') return 'a mapping or list';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function redactResult(r: Result, redact: (s: string) => string): Result {
  return JSON.parse(redact(JSON.stringify(r))) as Result;
}

function stderrSummary(results: readonly Result[]): string {
  const important = results.filter((r) => r.severity !== 'info');
  return important.map((r) => formatResult(r) + '\n').join('');
}

function errorText(e: unknown, redact: (s: string) => string): string {
  if (e instanceof FnError) {
    const extra = e.details.length > 1 || (e.details.length === 1 && !e.message.includes(e.details[0]!)) ? e.details.map((d) => `  ${d}\n`).join('') : '';
    return redact(`proxy-private-images: ${e.message}\n${extra}`);
  }
  throw e;
}
