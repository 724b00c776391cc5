/**
 * Helm hooks and the pull Secret (Helm 4 post-renders hooks; `helm template` prints them for kustomize, kpt and
 * Argo CD pipes).
 *
 * What Helm does (read from v3.22.0 and v4.3.1 `pkg/action`, and run with the real binaries, see docs/helm.md):
 * - an object with a `helm.sh/hook` annotation is a hook, whatever its value; hooks are not part of the release
 *   manifest. `helm install` creates the pre-install hooks one by one, ordered by `helm.sh/hook-weight` (an
 *   integer) and then by name, waits for Jobs and Pods among them, and only then creates the release's regular
 *   objects. So a pre-install or pre-upgrade Job that pulls a private image runs before a regular pull Secret
 *   exists.
 * - `helm uninstall` deletes the release manifest's objects; hook objects stay unless a delete policy removes them.
 * - a hook's default delete policy is `before-hook-creation`: the old copy is deleted just before the new one is
 *   created.
 * - on upgrade, a regular object that is no longer in the new manifest is deleted, and a new regular object whose
 *   name is already taken in the cluster fails the upgrade (Helm 3: "exists and cannot be imported into the
 *   current release").
 *
 * The design that follows from it:
 * - Hooks get their own pull Secret, `<pullSecret.name>-hooks`, emitted as a hook itself: `pre-install,pre-upgrade`,
 *   the lowest weight an int32 can hold (so it is created first among the hooks of those events, before any chart
 *   hook), delete policy `before-hook-creation` (recreated with the current license on every upgrade, never deleted
 *   while a hook might still pull). It stays after `helm uninstall`, as every hook object does, so post-delete hooks
 *   still have it; a new install deletes and recreates it.
 * - Regular workloads keep the regular Secret `<pullSecret.name>`, a regular release object (deleted on uninstall).
 * - Two names, not one Secret that is sometimes a hook: a Secret that moved between the release manifest and the
 *   hooks from one chart version to the next would be deleted by the upgrade (regular -> hook) or fail it with a
 *   name conflict (hook -> regular). With two names each object keeps its role for good, no two objects in the
 *   output share kind, name and namespace, and no hook takes a name a regular object needs.
 * - Helm 4's SDK can post-render hooks and manifests in two separate runs ("separate" strategy): a run that holds
 *   only hooks emits no regular Secret copies (`pullSecret.namespaces`), so the two runs never both add one.
 *
 * Pure: items in, names and plans out.
 */
import type { YAMLMap } from 'yaml';
import type { Config } from '../config/config.js';
import { errorResult } from '../plan/messages.js';
import { planSecrets, type SecretPlan } from '../plan/secrets.js';
import { resourceRefOf, type InputObject } from '../read/input.js';
import type { Result } from '../results.js';

export const HOOK_ANNOTATION = 'helm.sh/hook';
export const HOOK_SECRET_SUFFIX = '-hooks';
/** The lowest weight Helm can parse on every platform (`strconv.Atoi` into an `int`, 32 bits on 32-bit builds). */
export const HOOK_SECRET_WEIGHT = '-2147483648';
export const HOOK_SECRET_ANNOTATIONS: Readonly<Record<string, string>> = {
  'helm.sh/hook': 'pre-install,pre-upgrade',
  'helm.sh/hook-weight': HOOK_SECRET_WEIGHT,
  'helm.sh/hook-delete-policy': 'before-hook-creation',
};
/** Kubernetes object names are DNS subdomains: at most 253 characters. */
const MAX_NAME = 253;

function annotationsOf(item: YAMLMap): YAMLMap | undefined {
  const annotations = item.getIn(['metadata', 'annotations'], true) as YAMLMap | undefined;
  return annotations && typeof annotations.get === 'function' ? annotations : undefined;
}

/** True when Helm treats the item as a hook: it carries the `helm.sh/hook` annotation (any value). */
export function isHelmHook(item: YAMLMap): boolean {
  const annotations = annotationsOf(item);
  return annotations !== undefined && annotations.has(HOOK_ANNOTATION);
}

/** The pull Secret that Helm hooks list in `imagePullSecrets`. */
export function hookSecretName(pullSecretName: string): string {
  return `${pullSecretName}${HOOK_SECRET_SUFFIX}`;
}

/** The Secret a workload's pod spec must list: the hook Secret for a hook, the regular one otherwise. */
export function pullSecretNameFor(item: YAMLMap, pullSecretName: string): string {
  return isHelmHook(item) ? hookSecretName(pullSecretName) : pullSecretName;
}

/** True when there are items and every one is a hook: Helm 4's "separate" strategy post-renders hooks alone. */
export function onlyHooks(items: readonly YAMLMap[]): boolean {
  return items.length > 0 && items.every(isHelmHook);
}

/**
 * Regular objects in the input that hold the hook Secret's name in a namespace that gets the hook Secret: Helm
 * would create the hook first and then fail on the regular object (or the other way round), so this is an error.
 */
export function hookSecretConflicts(items: readonly YAMLMap[], hookName: string, namespaces: Iterable<string>): Result[] {
  const wanted = new Set(namespaces);
  const results: Result[] = [];
  for (const item of items) {
    const ref = resourceRefOf(item);
    if (ref.apiVersion !== 'v1' || ref.kind !== 'Secret' || ref.name !== hookName || !wanted.has(ref.namespace ?? '')) continue;
    if (isHelmHook(item)) continue;
    results.push({
      severity: 'error',
      tags: { code: 'SECRET_CONFLICT' },
      message:
        `the input already has a regular Secret ${hookName}, the name this function gives the pull Secret for Helm hooks: ` +
        `rename that Secret, or set pullSecret.name so that <pullSecret.name>${HOOK_SECRET_SUFFIX} is free`,
      resourceRef: { ...ref },
    });
  }
  return results;
}

/**
 * The regular pull Secrets (for `regular` namespaces, plus `pullSecret.namespaces` unless the input holds only
 * hooks) and the hook pull Secrets (for `hooks` namespaces), each created or updated in place.
 */
export function planPullSecrets(
  objects: readonly InputObject[],
  regular: ReadonlySet<string>,
  hooks: ReadonlySet<string>,
  config: Config,
  licenseId: string | undefined,
): SecretPlan {
  const items = objects.map((o) => o.node);
  const plan = planSecrets(objects, regular, config, licenseId, {
    name: config.pullSecretName,
    namespaces: onlyHooks(items) ? [] : config.pullSecretNamespaces,
  });
  // Without a license the regular plan already says so; one error is enough.
  if (hooks.size === 0 || (licenseId === undefined && plan.results.some((r) => r.severity === 'error'))) return plan;
  const hookName = hookSecretName(config.pullSecretName);
  const merged = (more: Result[], other?: SecretPlan): SecretPlan => ({
    creates: [...plan.creates, ...(other?.creates ?? [])],
    updates: [...plan.updates, ...(other?.updates ?? [])],
    results: [...plan.results, ...more, ...(other?.results ?? [])],
  });
  if (hookName.length > MAX_NAME) {
    return merged([errorResult(`the pull Secret for Helm hooks would be named ${hookName}, longer than ${MAX_NAME} characters: set a shorter pullSecret.name`, 'CONFIG_INVALID')]);
  }
  const conflicts = hookSecretConflicts(items, hookName, hooks);
  if (conflicts.length > 0) return merged(conflicts);
  return merged([], planSecrets(objects, hooks, config, licenseId, { name: hookName, namespaces: [], annotations: HOOK_SECRET_ANNOTATIONS }));
}
