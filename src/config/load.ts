/**
 * functionConfig -> Config: the ConfigMap form is mapped onto the typed
 * shape (dotted keys, comma lists), everything is validated against the JSON
 * Schema in functionconfig/ (all problems at once, each with its field path),
 * then defaults are filled in.
 */
import { FnError } from '../errors.js';
import { normaliseGlob } from '../decide/policy.js';
import { DEFAULT_PROBE_SETTINGS } from '../probe/types.js';
import { describeValue, quote } from '../text/quote.js';
import { CONFIG_API_VERSION, CONFIG_KIND, DEFAULTS, REPLICATED_REGISTRY, type Config } from './config.js';
import { validateFunctionConfig, type SchemaError } from './validate.js';
import schema from '../../functionconfig/proxy-private-images.v1alpha1.schema.json' with { type: 'json' };

type Json = Record<string, unknown>;

/** Turns the functionConfig object (already plain JS) plus CLI overrides into a Config. */
export function loadConfig(functionConfig: Json | undefined, overrides: Json = {}): Config {
  const { typed, problems } = toTyped(functionConfig);
  const raw = merge(typed, overrides);
  const nonFinite = nonFiniteNumbers(raw);
  // A ConfigMap key that could not be read is left out of `raw`; the schema must not report it a second time.
  const schemaLines = validateFunctionConfig(raw)
    .map(describeSchemaError)
    .filter((line) => !problems.some((p) => line === `${p.key} is required` || line.startsWith(`${p.key} `) || line.startsWith(`${p.key}.`)))
    // a number that is not finite is said once, by nonFiniteNumbers, not again as "must be <= 10"
    .filter((line) => !nonFinite.some((n) => line.startsWith(n.slice(0, n.indexOf(' must be a finite number') + 1))));
  const lines = [...problems.map((p) => p.message), ...nonFinite, ...schemaLines];
  if (lines.length > 0) {
    throw new FnError('CONFIG_INVALID', `invalid functionConfig: ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more)` : ''}`, lines);
  }
  const config = withDefaults(raw as unknown as TypedConfig);
  const hostProblems = [
    ['proxy.host', config.proxyHost],
    ['registry.host', config.registryHost],
  ].flatMap(([field, host]) => (isRegistryHost(host!) ? [] : [`${field} must be a registry host (with a dot, a port, or localhost), got ${quote(host!)}: container runtimes would read ${quote(host!)}/... as a Docker Hub image`]));
  const valueProblems = [...hostProblems, ...flagGlobProblems(config.imagesInValues.args)];
  if (valueProblems.length > 0) {
    throw new FnError('CONFIG_INVALID', `invalid functionConfig: ${valueProblems[0]}${valueProblems.length > 1 ? ` (and ${valueProblems.length - 1} more)` : ''}`, valueProblems);
  }
  return config;
}

/** A flag glob is matched against the flag as written, dashes included, and never holds the `=` of `--flag=IMAGE`. */
function flagGlobProblems(globs: readonly string[]): string[] {
  return globs.flatMap((g, i) =>
    /^-[^=]*$/.test(g) ? [] : [`imagesInValues.args[${i}] must be a flag as written in command or args, with its dashes and without "=" (--engine-image), got ${JSON.stringify(g).slice(0, 80)}`],
  );
}

/** What container runtimes take for a registry host in a reference's first component. */
export function isRegistryHost(host: string): boolean {
  return host.includes('.') || host.includes(':') || host === 'localhost';
}

/**
 * YAML has `.inf` and `.nan`; JSON Schema would only say "must be number" of them. Every number in the config must be
 * finite, wherever it is (the schema then checks ranges and integers).
 */
function nonFiniteNumbers(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path || 'functionConfig'} must be a finite number, got ${String(value)}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFiniteNumbers(v, `${path}[${i}]`));
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => nonFiniteNumbers(v, path ? `${path}.${k}` : k));
  return [];
}

/** A problem of one ConfigMap `data` key. */
export interface ConfigMapProblem {
  /** The dotted key as written (`probe.timeoutSeconds`). */
  readonly key: string;
  readonly message: string;
}

/** A `ProxyPrivateImages` object as given, a ConfigMap mapped onto that shape (with its problems), or an empty one. */
function toTyped(fc: Json | undefined): { typed: Json; problems: readonly ConfigMapProblem[] } {
  const base = { apiVersion: CONFIG_API_VERSION, kind: CONFIG_KIND };
  if (!fc || Object.keys(fc).length === 0) return { typed: base, problems: [] };
  const kind = fc['kind'];
  const apiVersion = fc['apiVersion'];
  if (kind === CONFIG_KIND) {
    if (apiVersion !== CONFIG_API_VERSION) {
      throw new FnError('CONFIG_INVALID', `invalid functionConfig: apiVersion must be ${CONFIG_API_VERSION}, got ${describeValue(apiVersion)}`);
    }
    // kpt and kustomize add their own annotations; metadata is otherwise ours to ignore.
    return { typed: fc, problems: [] };
  }
  if (kind === 'ConfigMap' && (apiVersion === 'v1' || apiVersion === undefined)) return fromConfigMap(fc['data']);
  throw new FnError(
    'CONFIG_INVALID',
    `functionConfig must be a ${CONFIG_KIND} (apiVersion ${CONFIG_API_VERSION}) or a ConfigMap, got ${describe(kind)} ${describe(apiVersion)}`,
  );
}

function describe(v: unknown): string {
  return describeValue(v);
}

/**
 * `kpt fn eval -- appSlug=x proxy.host=y images.private=a,b`: every value arrives as a string. Every key is read;
 * each one that cannot be (unknown, not a string, not a boolean, number or JSON list where one is needed) is a
 * problem naming its key, and is left out of the result, so all of them are reported at once.
 */
export function fromConfigMap(data: unknown): { typed: Json; problems: ConfigMapProblem[] } {
  const typed: Json = { apiVersion: CONFIG_API_VERSION, kind: CONFIG_KIND };
  const problems: ConfigMapProblem[] = [];
  if (data === undefined || data === null) return { typed, problems };
  if (typeof data !== 'object' || Array.isArray(data)) throw new FnError('CONFIG_INVALID', 'invalid functionConfig: ConfigMap data must be a mapping');
  for (const [key, value] of Object.entries(data as Json)) {
    const path = key.split('.');
    const prop = schemaAt(path);
    if (!prop) {
      problems.push({ key, message: `unknown field ${quote(key)} in ConfigMap data` });
      continue;
    }
    if (typeof value !== 'string') {
      problems.push({ key, message: `ConfigMap data ${key} must be a string` });
      continue;
    }
    const read = fromString(value, prop, key);
    if ('problem' in read) problems.push({ key, message: read.problem });
    else setPath(typed, path, read.value);
  }
  return { typed, problems };
}

interface SchemaNode {
  type?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: unknown[];
}

function schemaAt(path: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema as unknown as SchemaNode;
  for (const seg of path) {
    // own properties only: `__proto__`, `constructor` or `toString` are not fields
    node = node?.properties && Object.hasOwn(node.properties, seg) ? node.properties[seg] : undefined;
    if (!node) return undefined;
  }
  return node.properties && !node.type ? undefined : node;
}

function typeOf(node: SchemaNode): string {
  if (node.type) return node.type;
  if (node.$ref?.endsWith('positiveSeconds')) return 'number';
  return 'string';
}

function fromString(value: string, prop: SchemaNode, key: string): { value: unknown } | { problem: string } {
  switch (typeOf(prop)) {
    case 'boolean':
      if (value === 'true') return { value: true };
      if (value === 'false') return { value: false };
      return { problem: `${key} must be true or false, got ${quote(value)}` };
    case 'integer':
    case 'number': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) return { problem: `${key} must be a number, got ${quote(value)}` };
      return { value: n };
    }
    case 'array':
      if (prop.items && typeOf(prop.items) === 'object') {
        try {
          return { value: JSON.parse(value) };
        } catch {
          return { problem: `${key} must be a JSON list in the ConfigMap form` };
        }
      }
      return { value: value.split(',').map((s) => s.trim()).filter((s) => s !== '') };
    default:
      return { value };
  }
}

function setPath(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const seg of path.slice(0, -1)) {
    if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = {};
    node = node[seg] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function merge(base: Json, overrides: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? merge(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeSchemaError(e: SchemaError): string {
  const path = e.instancePath.split('/').filter(Boolean).join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
  const at = path === '' ? '' : path;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = quoteKey(String(e.params['additionalProperty']));
      return `unknown field ${at ? `${at}.` : ''}${extra}`;
    }
    case 'required':
      return `${at ? `${at}.` : ''}${String(e.params['missingProperty'])} is required`;
    case 'enum':
      return `${at} must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at} must be ${JSON.stringify(e.params['allowedValue'])}`;
    default:
      return `${at || 'functionConfig'} ${e.message ?? 'is invalid'}`;
  }
}

/** A field name as written, for `unknown field ...`: bare when it is a plain name, quoted and cut otherwise. */
function quoteKey(key: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(key) ? key : quote(key);
}

interface TypedConfig {
  appSlug: string;
  proxy?: { host?: string; dockerHubHost?: string };
  proxyPublicImages?: boolean;
  license?: { id?: string; fromEnv?: string };
  vendorRegistries?: string[];
  registry?: { host?: string };
  pullSecret?: { name?: string; namespaces?: string[]; emit?: boolean };
  imagesInValues?: Partial<Config['imagesInValues']>;
  images?: { private?: string[]; public?: string[] };
  probe?: Partial<Config['probe']> & { onError?: Config['onError'] };
  fieldSpecs?: Config['fieldSpecs'];
  output?: Config['output'];
}

function withDefaults(c: TypedConfig): Config {
  const { onError, ...probe } = c.probe ?? {};
  return {
    appSlug: c.appSlug,
    proxyHost: c.proxy?.host ?? DEFAULTS.proxyHost,
    dockerHubHost: c.proxy?.dockerHubHost ?? DEFAULTS.dockerHubHost,
    proxyPublicImages: c.proxyPublicImages ?? false,
    ...(c.license?.id !== undefined && { licenseId: c.license.id }),
    licenseFromEnv: c.license?.fromEnv ?? DEFAULTS.licenseFromEnv,
    vendorRegistries: c.vendorRegistries ?? [...DEFAULTS.vendorRegistries],
    registryHost: c.registry?.host ?? REPLICATED_REGISTRY,
    pullSecretName: c.pullSecret?.name ?? `${c.appSlug}-registry`,
    pullSecretEmit: c.pullSecret?.emit ?? true,
    pullSecretNamespaces: c.pullSecret?.namespaces ?? [],
    privateGlobs: (c.images?.private ?? []).map(normaliseGlob),
    publicGlobs: (c.images?.public ?? []).map(normaliseGlob),
    probe: { ...DEFAULT_PROBE_SETTINGS, ...probe },
    onError: onError ?? 'fail',
    fieldSpecs: c.fieldSpecs ?? [],
    imagesInValues: {
      env: c.imagesInValues?.env ?? [],
      args: c.imagesInValues?.args ?? [],
      configMaps: c.imagesInValues?.configMaps ?? [],
      detect: c.imagesInValues?.detect ?? 'warn',
    },
    output: c.output ?? 'resources',
  };
}
