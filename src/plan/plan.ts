/**
 * The plan: everything a run decided to change, addressed by object and field path, with the node each change
 * applies to. It says nothing about how the output is written: every renderer (`render/`) reads the same plan,
 * and one that cannot express part of it refuses with an error result instead of dropping it.
 */
import type { Node, Pair, YAMLSeq } from 'yaml';
import type { ImageField, PodSpecSite, Segment } from '../find/images.js';
import type { InputObject } from '../read/input.js';
import type { Result } from '../results.js';
import type { SecretObject } from '../secret/dockerconfig.js';

/** One value to rewrite, once, for every field that shows it. */
export interface ValueRewrite {
  /** The node to change: a scalar, or (for a use through an alias that must not change its anchor) the alias itself. */
  readonly node: Node;
  /** The new value of the whole scalar (`--flag=` prefix included). */
  readonly value: string;
  readonly from: string;
  readonly uses: readonly ImageField[];
}

/** A pod spec that must list the pull Secret in `imagePullSecrets`. */
export interface PullSecretWiring {
  /** Where: `append` to the existing list, `set` the pair's value (empty, null or an alias), `insert` a new pair. */
  readonly op: 'append' | 'set' | 'insert';
  readonly podSpec: PodSpecSite;
  readonly list?: YAMLSeq;
  readonly pair?: Pair;
  /** Entries the new list must keep (an existing list's, when it is replaced or comes through a merge key). */
  readonly keep: readonly string[];
  /** Names to add. */
  readonly add: readonly string[];
  /** Every object and pod-spec path this pod spec serves. */
  readonly uses: readonly { readonly object: InputObject; readonly segments: readonly Segment[] }[];
}

export interface SecretCreate {
  readonly namespace: string;
  readonly object: SecretObject;
}

export interface SecretUpdate {
  readonly object: InputObject;
  /** Top-level fields to set (type, data); nested maps are merged key by key. */
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Plan {
  readonly rewrites: readonly ValueRewrite[];
  readonly wirings: readonly PullSecretWiring[];
  readonly creates: readonly SecretCreate[];
  readonly updates: readonly SecretUpdate[];
  /** Objects left out of the output (a kots License that is not a kpt package file). */
  readonly drops: readonly InputObject[];
  readonly results: readonly Result[];
}

export const EMPTY_PLAN: Plan = { rewrites: [], wirings: [], creates: [], updates: [], drops: [], results: [] };
