import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProbeOutcome, ProbeVerdict } from './types.js';

/**
 * Persistent decision cache: `{version: 1, entries: {<reference>: {verdict, reason, at}}}`.
 * Only decided verdicts are kept (never inconclusive). Writes re-read the file, merge (newest wins)
 * and replace it atomically (temp file + rename), so concurrent runs leave a valid file.
 */
interface Entry {
  verdict: Exclude<ProbeVerdict, 'inconclusive'>;
  reason: string;
  at: number;
}
const VERDICTS = new Set(['public', 'private', 'private-404']);

function read(file: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return out; // missing or corrupt: start empty
  }
  const entries = (data as { version?: unknown; entries?: unknown })?.entries;
  if ((data as { version?: unknown })?.version !== 1 || entries === null || typeof entries !== 'object') return out;
  for (const [k, v] of Object.entries(entries as Record<string, unknown>)) {
    const e = v as Partial<Entry>;
    if (e && VERDICTS.has(e.verdict as string) && typeof e.reason === 'string' && typeof e.at === 'number') {
      out.set(k, { verdict: e.verdict!, reason: e.reason, at: e.at });
    }
  }
  return out;
}

export class DecisionCache {
  constructor(
    private readonly file: string,
    private readonly ttlMs: number,
  ) {}

  /** Fresh entries for `keys`. */
  lookup(keys: Iterable<string>, now: number): Map<string, ProbeOutcome> {
    const all = read(this.file);
    const out = new Map<string, ProbeOutcome>();
    for (const k of keys) {
      const e = all.get(k);
      if (e && now - e.at >= 0 && now - e.at < this.ttlMs) out.set(k, { verdict: e.verdict, reason: e.reason, cached: true });
    }
    return out;
  }

  /** Adds decided outcomes; drops expired entries. Errors are swallowed: the cache is an optimisation. */
  store(outcomes: ReadonlyMap<string, ProbeOutcome>, now: number): void {
    const fresh = [...outcomes].filter(([, o]) => o.verdict !== 'inconclusive' && !o.cached);
    if (fresh.length === 0) return;
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const all = read(this.file);
      for (const [k, o] of fresh) all.set(k, { verdict: o.verdict as Entry['verdict'], reason: o.reason, at: now });
      const entries: Record<string, Entry> = {};
      for (const [k, e] of all) if (now - e.at < this.ttlMs) entries[k] = e;
      writeFileSync(tmp, JSON.stringify({ version: 1, entries }, null, 1) + '\n', { mode: 0o644 });
      renameSync(tmp, this.file);
    } catch {
      rmSync(tmp, { force: true });
    }
  }
}
