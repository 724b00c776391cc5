/** Image values -> parsed references, once per distinct value; a bad one is an error naming the object and field. */
import type { Config } from '../config/config.js';
import type { ImageField } from '../find/images.js';
import { BadReferenceError, parseReference, type ImageRef } from '../reference/parse.js';
import type { Result } from '../results.js';
import { onProxyHost } from '../rewrite/proxy-ref.js';
import { fieldResult, messages } from './messages.js';

export function parseFieldReferences(fields: readonly ImageField[], config: Config): { refs: Map<ImageField, ImageRef>; results: Result[] } {
  const refs = new Map<ImageField, ImageRef>();
  const results: Result[] = [];
  const parsed = new Map<string, ImageRef | BadReferenceError>();
  for (const field of fields) {
    if (field.image === undefined) {
      results.push(fieldResult(field, 'error', messages.notAString(field.value), 'IMAGE_INVALID'));
      continue;
    }
    let ref = parsed.get(field.image);
    if (ref === undefined) {
      try {
        ref = parseReference(field.image);
      } catch (e) {
        if (!(e instanceof BadReferenceError)) throw e;
        // An image already on the proxy host is decided by that host, whatever its path holds.
        ref = onProxyHost(field.image, config.proxyHost) ?? e;
      }
      parsed.set(field.image, ref);
    }
    if (ref instanceof BadReferenceError) {
      results.push(fieldResult(field, 'error', ref.message, 'IMAGE_INVALID'));
    } else {
      refs.set(field, ref);
    }
  }
  return { refs, results };
}
