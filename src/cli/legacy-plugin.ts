/**
 * Plain multi-document YAML streams <-> ResourceList, for two callers that do not speak ResourceList:
 *
 * - kustomize's legacy exec plugin (`kubectl kustomize --enable-alpha-plugins` with the binary at
 *   `$KUSTOMIZE_PLUGIN_HOME/fn.proxy-private-images.dev/v1alpha1/proxyprivateimages/ProxyPrivateImages`):
 *   argv[1] is a temp file holding the config YAML, stdin is a multi-document stream of the resources,
 *   stdout must be a multi-document stream (added resources are kept).
 * - `proxy-private-images --stream` in CI and Argo CD pipes: `kustomize build . | proxy-private-images --stream ...`.
 *
 * Each document's node is moved as it is, so comments, key order and scalar styles survive both ways.
 * Pure: no process, env or file access here; `legacyPluginConfig` reads through the function it is given.
 */
import { Document, isMap, isScalar, isSeq, parseAllDocuments, parseDocument } from 'yaml';
import type { Node, ParsedNode } from 'yaml';
import { describeYamlError } from '../io/resource-list.js';

const PARSE_OPTIONS = { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true } as const;
const STRINGIFY_OPTIONS = { lineWidth: 0 } as const;
/** kustomize and kubectl write compact sequences (`- name:` at the parent's indent) and `[a, b]`; so do we. */
const STREAM_OPTIONS = { lineWidth: 0, indentSeq: false, flowCollectionPadding: false } as const;

export class StreamError extends Error {
  override name = 'StreamError';
}

/**
 * The plugin's config text when kustomize runs the binary as a legacy exec plugin, else undefined. kustomize sets
 * `KUSTOMIZE_PLUGIN_CONFIG_ROOT` / `KUSTOMIZE_PLUGIN_CONFIG_STRING`, and the only argument is the temp file that
 * holds the plugin's config. `args` are the arguments after the script; `readFile` throws when there is no such file.
 */
export function legacyPluginConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): string | undefined {
  if (env.KUSTOMIZE_PLUGIN_CONFIG_ROOT === undefined && env.KUSTOMIZE_PLUGIN_CONFIG_STRING === undefined) return undefined;
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return undefined;
  try {
    return readFile(first);
  } catch {
    // not a readable file (missing, a directory): an ordinary command line such as `check IMAGE`
    return undefined;
  }
}

function describeErrors(what: string, errors: readonly Error[]): StreamError {
  // The parser's messages quote the input, which may hold anything (even a license id): keep its words and position only.
  return new StreamError(`${what} is not valid YAML: ${errors.slice(0, 5).map(describeYamlError).join('; ')}`);
}

/** Parses a multi-document stream; empty documents (`---` with nothing after it) are dropped. */
export function parseStream(text: string, what = 'input stream'): Node[] {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(docs)) {
    // parseAllDocuments returns an EmptyStream for input without documents
    return [];
  }
  const nodes: Node[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) throw describeErrors(`${what}, document ${i + 1},`, doc.errors);
    const contents = doc.contents as ParsedNode | null;
    if (contents === null || contents === undefined) return;
    if (isScalar(contents) && (contents.value === null || contents.value === undefined)) return;
    if (isMap(contents) && contents.items.length === 0) return;
    if (!isMap(contents)) throw new StreamError(`${what}, document ${i + 1}, is not a YAML mapping (a Kubernetes object)`);
    if (doc.commentBefore && !contents.commentBefore) contents.commentBefore = doc.commentBefore;
    nodes.push(contents);
  });
  return nodes;
}

/**
 * Wraps a multi-document YAML stream (and optionally a config object) into a `config.kubernetes.io/v1` ResourceList.
 * A config that is a `ResourceList` itself is not expected; it must be a single object (ProxyPrivateImages or ConfigMap).
 */
export function streamToResourceList(stdinText: string, configText?: string): string {
  const items = parseStream(stdinText);
  const rl = new Document({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items: [] });
  const seq = rl.get('items', true);
  if (!isSeq(seq)) throw new StreamError('internal: items is not a sequence');
  for (const item of items) seq.items.push(item);
  if (configText !== undefined && configText.trim() !== '') {
    const config = parseDocument(configText, PARSE_OPTIONS);
    if (config.errors.length > 0) throw describeErrors('the plugin config', config.errors);
    if (!isMap(config.contents)) throw new StreamError('the plugin config is not a YAML mapping (a Kubernetes object)');
    rl.set('functionConfig', config.contents);
  }
  return rl.toString(STRINGIFY_OPTIONS);
}

/**
 * Turns a ResourceList (the function's stdout) back into a multi-document stream of its items, each document
 * written from its own node. `results` are not part of the stream: use `resultsOf` to report them elsewhere.
 */
export function resourceListToStream(outputText: string): string {
  const doc = parseDocument(outputText, PARSE_OPTIONS);
  if (doc.errors.length > 0) throw describeErrors('the ResourceList', doc.errors);
  const items = doc.get('items', true);
  if (items === undefined || items === null) return '';
  if (!isSeq(items)) throw new StreamError('the ResourceList has no items sequence');
  const parts: string[] = [];
  for (const item of items.items) {
    const d = new Document();
    d.contents = item as Node;
    parts.push(d.toString(STREAM_OPTIONS));
  }
  return parts.join('---\n');
}

export interface StreamResult {
  readonly message: string;
  readonly severity: string;
}

/** The `results` of a ResourceList, as plain data, for printing to stderr in stream and legacy-plugin modes. */
export function resultsOf(outputText: string): StreamResult[] {
  const doc = parseDocument(outputText, PARSE_OPTIONS);
  if (doc.errors.length > 0) return [];
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || typeof raw !== 'object') return [];
  const results = (raw as { results?: unknown }).results;
  if (!Array.isArray(results)) return [];
  return results.map((r: unknown) => {
    const o = (r ?? {}) as Record<string, unknown>;
    return { message: String(o.message ?? ''), severity: typeof o.severity === 'string' ? o.severity : 'info' };
  });
}

export interface StreamRun {
  /** stdout in stream form (empty when the run failed) */
  readonly stdout: string;
  /** for stderr: the runner's stderr, or one line per result when the runner gives none */
  readonly report: string;
  readonly exitCode: number;
}

/**
 * The whole stream / legacy-plugin mode around the function's ResourceList runner:
 * wrap, run, unwrap. On a non-zero exit nothing goes to stdout, so a pipe cannot mistake a failure for output.
 */
export async function runOnStream(
  stdinText: string,
  configText: string | undefined,
  run: (resourceList: string) => Promise<{ stdout: string; exitCode: number; stderr?: string }>,
): Promise<StreamRun> {
  let rl: string;
  try {
    rl = streamToResourceList(stdinText, configText);
  } catch (e) {
    return { stdout: '', report: `proxy-private-images: ${(e as Error).message}\n`, exitCode: 1 };
  }
  const out = await run(rl);
  // The runner's own stderr (warnings and errors, with the object and field) is what users see in ResourceList mode
  // too; without one, list the results.
  const report =
    out.stderr !== undefined
      ? out.stderr
      : resultsOf(out.stdout)
          .map((r) => `[${r.severity}] ${r.message}\n`)
          .join('');
  if (out.exitCode !== 0) return { stdout: '', report, exitCode: out.exitCode };
  return { stdout: resourceListToStream(out.stdout), report, exitCode: 0 };
}
