/** Every message a result carries, written in one place, with the code tests assert. */
import type { Decision } from '../decide/policy.js';
import type { ErrorCode, WarningCode } from '../errors.js';
import type { ImageField } from '../find/images.js';
import type { Result } from '../results.js';
import { explain } from '../probe/explain.js';
import { excerpt as cut } from '../text/quote.js';

const MAX_EXCERPT = 200;

/** A value from the input as it may be quoted in a message: at most 200 characters, no control characters. */
export function excerpt(value: string): string {
  return cut(value, MAX_EXCERPT);
}

export function fieldResult(field: ImageField, severity: Result['severity'], message: string, code?: ErrorCode | WarningCode): Result {
  return {
    severity,
    message,
    // shared, not copied: results are only read (and redaction copies what it changes)
    resourceRef: field.object.ref,
    field: { path: field.path },
    ...(code && { tags: { code } }),
  };
}

export function errorResult(message: string, code: ErrorCode, extra: Partial<Result> = {}): Result {
  return { severity: 'error', message, ...extra, tags: { code } };
}

export function warningResult(message: string, code: WarningCode, extra: Partial<Result> = {}): Result {
  return { severity: 'warning', message, ...extra, tags: { code } };
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'object') return 'a mapping or list';
  return `${typeof v} ${excerpt(JSON.stringify(v))}`;
}

export const messages = {
  notAString: (v: unknown) => `image must be a string, got ${describeValue(v)}`,
  undecided: (image: string, reason: string) =>
    `cannot tell whether ${excerpt(image)} is private: ${reason} (set probe.onError to private or public, or list the image in images.private / images.public)`,
  portRegistry: (image: string, host: string) =>
    `${excerpt(image)} is private, and its registry ${host} uses a port that a proxy path cannot carry (an image reference allows no ':' in its path): ` +
    `serve the registry on its default port, push the image to the Replicated registry, or list it in images.public`,
  rewritten: (d: Decision, from: string, to: string) => `${d.kind === 'private' || d.kind === 'vendor' ? d.kind : 'public'} image (${d.reason}): ${excerpt(from)} -> ${to}`,
  keptAsIs: (image: string, d: Decision) => `${excerpt(image)} left as is: ${KEPT[d.kind]} (${d.reason})`,
  keptPortPublic: (image: string) => `${excerpt(image)} left as is: public, and its registry's port cannot be carried in the proxy's anonymous path`,
  fallback: (image: string, reason: string) => `${excerpt(image)}: ${reason}`,
  notFoundAsPrivate: (image: string, reason: string) => `${excerpt(image)} treated as private: ${reason}; ${explain({ verdict: 'private-404' })}`,
  outsidePodSpec: (image: string, secret: string) =>
    `${excerpt(image)} needs the pull Secret ${secret}, but this field is not in a pod spec: add imagePullSecrets where this resource's pods get it`,
  shared: (what: string, objects: readonly string[], others: number) =>
    `${what} is shared through a YAML alias with ${others} other use${others === 1 ? '' : 's'} that ${others === 1 ? 'is' : 'are'} not ${objects.length > 0 ? 'an image field of ' + objects.join(', ') : 'an image field'}: ` +
    `editing it would change them too; write the value out in each place (no alias), or list the image in images.public`,
  pullSecretNotList: (secret: string) => `imagePullSecrets is not a list: cannot add the pull Secret ${secret}`,
  secretCreated: (name: string, hosts: readonly string[]) => `pull Secret ${name} created for ${hosts.join(', ')}`,
  secretUpdated: (name: string, hosts: readonly string[]) => `pull Secret ${name} updated for ${hosts.join(', ')}`,
  secretUpToDate: (name: string, hosts: readonly string[]) => `pull Secret ${name} is up to date for ${hosts.join(', ')}`,
  secretNotEmitted: (name: string, namespace: string, hosts: readonly string[]) =>
    `pull Secret ${name} is needed${namespace ? ` in namespace ${namespace}` : ' (no namespace: the namespace the pipeline deploys to)'} for ${hosts.join(', ')}, and is not written (pullSecret.emit: false): create it from your secret store`,
  secretConflict: (name: string, why: string) =>
    `an existing Secret ${name} is in the input, and ${why}: the function will not take it over; rename one of them (pullSecret.name) or remove the existing Secret`,
  flagWithoutValue: (flag: string, glob: string, followedByFlag: boolean) =>
    `${excerpt(flag)} matches imagesInValues.args ${JSON.stringify(glob)}, but ${followedByFlag ? 'the next element is another flag, not an image' : 'no element follows it'}: ` +
    `give the image after the flag (or as ${excerpt(flag)}=IMAGE), or narrow the glob`,
  envFromElsewhere: (name: string, glob: string, configMap: { name: string; key: string } | undefined) =>
    `${excerpt(name)} matches imagesInValues.env ${JSON.stringify(glob)}, but takes its value from valueFrom, so the image is not in this item: ` +
    (configMap
      ? `add imagesInValues.configMaps: [{name: ${JSON.stringify(configMap.name)}, key: ${JSON.stringify(configMap.key)}}] to rewrite it where it is`
      : 'name the field that holds it with a rule'),
  detectedPrivate: (image: string, d: Decision, rule: string | undefined) =>
    `${excerpt(image)} is private${d.warn ? ', or does not exist for an anonymous client,' : ''} (${d.reason}), and this value is not rewritten: pods started from it could not pull it; ` +
    (rule ? `${rule} rewrites it and counts it for the pull Secret` : NO_RULE),
  detectedNeedsSecret: (image: string, d: Decision, rule: string | undefined) =>
    `${excerpt(image)} needs the pull Secret (${d.reason}), and no imagesInValues rule names this value, so the Secret's namespaces do not count it; ` + (rule ? `${rule} does` : NO_RULE),
  detectedUndecided: (image: string, reason: string, rule: string | undefined) =>
    `cannot tell whether ${excerpt(image)} is private: ${reason}; if it is, ${rule ? `${rule} rewrites it` : NO_RULE} (or list it in images.private / images.public; imagesInValues.detect: off stops this check)`,
  operatorSecret: (count: number, paths: readonly string[], secret: string, namespaces: readonly string[], emitted: boolean) =>
    `${count === 1 ? 'an image in a value' : `${count} images in values`} (${listed(paths)}) ${count === 1 ? 'goes' : 'go'} to pods the operator starts, ` +
    `and ${count === 1 ? 'needs' : 'need'} the pull Secret ${secret}: ` +
    `${emitted ? 'it is written to' : 'provide it (pullSecret.emit: false) in'} ${namespaces.map((n) => (n === '' ? 'no namespace (the namespace the pipeline deploys to)' : `namespace ${n}`)).join(', ')}. ` +
    `The function cannot add imagePullSecrets to those pods: tell the operator the Secret's name (for example longhorn's registry-secret setting), ` +
    `and list any namespace it starts pods in that no manifest names in pullSecret.namespaces`,
  noLicense: (name: string, fromEnv: string) =>
    `the pull Secret ${name} is needed but no license id was found: set license.id, license.fromEnv, env ${fromEnv}, or add a kots.io/v1beta1 License to the input`,
} as const;

const NO_RULE = 'no imagesInValues rule reaches a positional argument: pass the image with a flag and name the flag in imagesInValues.args';

function listed(items: readonly string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

const KEPT: Record<Decision['kind'], string> = {
  public: 'public',
  vendor: 'vendor registry, pulled with the pull Secret',
  proxied: 'already on the proxy, pulled with the pull Secret',
  anonymous: "already on the proxy's anonymous path",
  private: 'private',
  undecided: 'undecided',
};
