/**
 * Decided images -> the value rewrites and the pod specs that need the pull Secret. Pure.
 *
 * A node shared through YAML aliases is edited once, and only when every place that shows it is an image field
 * the function found (so every one of them wants the same new value and gets its credentials); a field written
 * as an alias of something else is rewritten at the alias instead, leaving the anchor alone; anything else is an
 * error that names the objects.
 */
import { isAlias, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { Config } from '../config/config.js';
import type { Decision } from '../decide/policy.js';
import type { ImageField, PodSpecSite, PodSpecUse } from '../find/images.js';
import type { AliasIndex } from '../read/aliases.js';
import type { InputObject } from '../read/input.js';
import { deref, lookup } from '../read/nodes.js';
import { formatReference, type ImageRef } from '../reference/parse.js';
import type { Result } from '../results.js';
import { needsPullSecret, targetReference } from '../rewrite/proxy-ref.js';
import { pullSecretNameFor } from '../secret/helm-hooks.js';
import { errorResult, fieldResult, messages } from './messages.js';
import type { PullSecretWiring, ValueRewrite } from './plan.js';

export interface RewritePlan {
  readonly rewrites: ValueRewrite[];
  readonly wirings: PullSecretWiring[];
  readonly results: Result[];
  /** Namespaces of the objects whose pods need the Secret ('' = no namespace). */
  readonly namespaces: Set<string>;
  /** The same for Helm hooks, which use their own Secret (secret/helm-hooks.ts). */
  readonly hookNamespaces: Set<string>;
}

export function planRewrites(
  refs: ReadonlyMap<ImageField, ImageRef>,
  decisions: ReadonlyMap<string, Decision>,
  config: Config,
  aliases: AliasIndex,
): RewritePlan {
  const results: Result[] = [];
  const namespaces = new Set<string>();
  const hookNamespaces = new Set<string>();
  const byNode = new Map<Node, { value: string; from: string; uses: ImageField[] }>();
  const podSpecs = new Map<PodSpecSite, { name: string; uses: Map<string, { object: InputObject; use: PodSpecUse }> }>();
  const warned = new Set<string>();
  const reported = new Set<string>();

  for (const [field, ref] of refs) {
    const image = field.image!;
    const key = formatReference(ref);
    const decision = decisions.get(key)!;
    if (decision.kind === 'undecided') {
      results.push(fieldResult(field, 'error', messages.undecided(image, decision.reason), 'IMAGE_UNDECIDED'));
      continue;
    }
    if (decision.warn && !warned.has(key)) {
      warned.add(key);
      results.push(
        decision.source === 'onError'
          ? fieldResult(field, 'warning', messages.fallback(image, decision.reason), 'PROBE_FALLBACK')
          : fieldResult(field, 'warning', messages.notFoundAsPrivate(image, decision.reason), 'IMAGE_NOT_FOUND_AS_PRIVATE'),
      );
    }
    const port = /:\d+$/.test(ref.domain) ? ref.domain : undefined;
    if (decision.kind === 'private' && port !== undefined) {
      results.push(fieldResult(field, 'error', messages.portRegistry(image, ref.domain), 'IMAGE_PORT_REGISTRY'));
      continue;
    }
    const target = decision.kind === 'public' && port !== undefined ? undefined : targetReference(ref, decision, config);
    if (target === undefined || target === image) {
      if (!reported.has(key)) {
        reported.add(key);
        const text = decision.kind === 'public' && port !== undefined && config.proxyPublicImages ? messages.keptPortPublic(image) : messages.keptAsIs(image, decision);
        results.push(fieldResult(field, 'info', text));
      }
    } else {
      const value = (field.prefix ?? '') + target;
      const group = byNode.get(field.node) ?? { value, from: String(field.value), uses: [] };
      group.uses.push(field);
      byNode.set(field.node, group);
      results.push({
        ...fieldResult(field, 'info', messages.rewritten(decision, image, target)),
        field: { path: field.path, currentValue: String(field.value), proposedValue: value },
      });
    }
    if (needsPullSecret(decision)) {
      const secretName = pullSecretNameFor(field.object.node, config.pullSecretName);
      (secretName === config.pullSecretName ? namespaces : hookNamespaces).add(field.object.ref.namespace ?? '');
      if (field.podSpec) {
        const entry = podSpecs.get(field.podSpec.site) ?? { name: secretName, uses: new Map() };
        entry.uses.set(`${field.object.index}/${field.object.ref.kind}/${field.object.ref.name}/${field.podSpec.segments.join('.')}`, { object: field.object, use: field.podSpec });
        podSpecs.set(field.podSpec.site, entry);
      } else if (field.source !== 'value') { // a value's pods are the operator's: plan/values.ts reports them
        results.push(fieldResult(field, 'warning', messages.outsidePodSpec(image, secretName), 'FIELD_OUTSIDE_POD_SPEC'));
      }
    }
  }

  const rewrites: ValueRewrite[] = [];
  for (const [node, group] of byNode) rewrites.push(...rewritesFor(node, group, aliases, results));
  const wirings: PullSecretWiring[] = [];
  for (const [site, entry] of podSpecs) {
    const w = wiringFor(site, [...entry.uses.values()], entry.name, aliases, results);
    if (w) wirings.push(w);
  }
  return { rewrites, wirings, results, namespaces, hookNamespaces };
}

function rewritesFor(node: Node, group: { value: string; from: string; uses: ImageField[] }, aliases: AliasIndex, results: Result[]): ValueRewrite[] {
  const seen = aliases.visits(group.uses[0]!.ctx, group.uses[0]!.key);
  if (seen === group.uses.length) return [{ node, value: group.value, from: group.from, uses: group.uses }];
  // Fields written as aliases can be rewritten where they stand; the anchor (not an image field of ours) stays.
  if (group.uses.every((u) => u.alias)) {
    const byAlias = new Map<Node, ImageField[]>();
    for (const u of group.uses) byAlias.set(u.alias!.node, [...(byAlias.get(u.alias!.node) ?? []), u]);
    const out: ValueRewrite[] = [];
    for (const [alias, uses] of byAlias) {
      if (aliases.visits(uses[0]!.alias!.ctx) !== uses.length) return sharedError(group.uses, 'the image value', aliases.visits(uses[0]!.alias!.ctx) - uses.length, results);
      out.push({ node: alias, value: group.value, from: group.from, uses });
    }
    return out;
  }
  return sharedError(group.uses, 'the image value', seen - group.uses.length, results);
}

function sharedError(uses: readonly { object: InputObject }[], what: string, others: number, results: Result[]): never[] {
  const objects = [...new Set(uses.map((u) => describeObject(u.object)))];
  const first = uses[0]!.object;
  results.push(errorResult(messages.shared(what, objects, others), 'FIELD_SHARED', { resourceRef: { ...first.ref } }));
  return [];
}

function describeObject(o: InputObject): string {
  return [o.ref.kind, o.ref.namespace, o.ref.name].filter(Boolean).join('/');
}

function wiringFor(site: PodSpecSite, uses: { object: InputObject; use: PodSpecUse }[], name: string, aliases: AliasIndex, results: Result[]): PullSecretWiring | undefined {
  const wiringUses = uses.map((u) => ({ object: u.object, segments: u.use.segments }));
  const found = site.pullSecrets;
  const present: string[] = [];
  if (found && isSeq(found.node)) {
    for (const el of found.node.items) {
      const entry = deref(el, found.ctx, aliases);
      const n = entry && isMap(entry.node) ? lookup(entry.node, 'name', entry.ctx, aliases) : undefined;
      if (n && isScalar(n.node) && typeof n.node.value === 'string') present.push(n.node.value);
    }
  } else if (found && !(isScalar(found.node) && (found.node.value === null || found.node.value === ''))) {
    results.push(errorResult(messages.pullSecretNotList(name), 'FIELD_UNSUPPORTED', { resourceRef: { ...uses[0]!.object.ref }, field: { path: [...uses[0]!.use.segments, 'imagePullSecrets'].join('.') } }));
    return undefined;
  }
  if (present.includes(name)) return undefined;
  const base = { podSpec: site, keep: present, add: [name], uses: wiringUses };
  const podSpecShared = aliases.visits(site.ctx) !== uses.length;
  if (found && !found.viaMerge && isSeq(found.node) && !isAlias(found.pair.value)) {
    // Appending changes the list: safe when the list is seen only through these pod specs.
    if (aliases.visits(found.ctx) !== uses.length) return void sharedError(uses, 'imagePullSecrets', aliases.visits(found.ctx) - uses.length, results);
    return { ...base, op: 'append', list: found.node };
  }
  if (podSpecShared) return void sharedError(uses, 'the pod spec', aliases.visits(site.ctx) - uses.length, results);
  if (found && !found.viaMerge) return { ...base, op: 'set', pair: found.pair };
  // Absent, or only through a merge key: a pair of the pod spec's own, keeping what the merge gave.
  return { ...base, op: 'insert' };
}
