/**
 * The persistent decision cache (`probe.cacheFile`): a file this function recognises as its own, and the only file it
 * ever replaces.
 *
 *   {"format":"proxy-private-images/decision-cache","version":2,
 *   "entries":{
 *   "quay.io/org/api:1":{"verdict":"private","reason":"HEAD ... answered 401","at":1730000000000},
 *   ...
 *   }}
 *
 * - Anything else at that path is refused, never opened for a blocking read, never replaced: a symbolic link, a
 *   directory, a FIFO, a socket, a device, a file larger than any cache this function writes, a file without the
 *   header (a Kptfile, a system file), a cache of the first format (version 1, no header) or of a newer version.
 *   The refusal is a `CACHE_FILE_REFUSED` error: the run fails and changes nothing.
 * - Reads are capped: at most MAX_BYTES, opened with O_NOFOLLOW | O_NONBLOCK and checked with fstat before a byte is
 *   read, and abandoned after READ_TIMEOUT_MS.
 * - Entries are validated: a key that is not a normalised image reference, an unknown verdict, a reason with control
 *   characters or over MAX_REASON characters, or a time that is not a whole number of milliseconds in the past, drops
 *   that entry with a warning that does not repeat its contents.
 * - Writes are atomic and private: a temp file (O_EXCL, mode 0600) in the same directory, fsync, rename, fsync of the
 *   directory. Concurrent runs lose no decision: a writer takes `<cacheFile>.lock` (O_EXCL, bounded wait, a lock
 *   older than STALE_LOCK_MS is taken as left by a crash), re-reads the file, merges, then renames.
 * - The cache is an optimisation: when it cannot be written (no lock within the wait, a read-only directory), the run
 *   goes on and says so in a warning.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FnError } from '../errors.js';
import { formatReference, parseReference } from '../reference/parse.js';
import { quote } from '../text/quote.js';
import type { ProbeOutcome, ProbeVerdict } from './types.js';

export const FORMAT = 'proxy-private-images/decision-cache';
export const VERSION = 2;
const HEADER = `{"format":${JSON.stringify(FORMAT)},"version":`;
/** Largest file read (and written): 20,000 entries of about 200 bytes fit with room to spare. */
export const MAX_BYTES = 8 * 1024 * 1024;
export const MAX_ENTRIES = 20_000;
const MAX_REASON = 1_000;
const MAX_KEY = 600;
const READ_TIMEOUT_MS = 5_000;
const LOCK_WAIT_MS = 10_000;
const STALE_LOCK_MS = 30_000;
/** Clock skew allowed for an entry's time. */
const FUTURE_SLACK_MS = 60_000;
const MAX_WARNINGS = 5;

type Verdict = Exclude<ProbeVerdict, 'inconclusive'>;
interface Entry {
  readonly verdict: Verdict;
  readonly reason: string;
  readonly at: number;
}
const VERDICTS = new Set<string>(['public', 'private', 'private-404']);
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export interface DecisionCacheOptions {
  /** Longest wait for the lock (default 10 s). */
  readonly lockWaitMs?: number;
  /** A lock file older than this is taken as left by a crashed run (default 30 s). */
  readonly staleLockMs?: number;
  /** Reading the file takes longer than this: refused (default 5 s). */
  readonly readTimeoutMs?: number;
}

type ReadResult = { readonly kind: 'absent' } | { readonly kind: 'entries'; readonly entries: Map<string, Entry> };

export class DecisionCacheFile {
  private readonly notes: string[] = [];
  private dropped = 0;

  constructor(
    private readonly file: string,
    private readonly ttlMs: number,
    private readonly options: DecisionCacheOptions = {},
  ) {}

  /** Warnings for the run's results: dropped entries, decisions that could not be stored. */
  warnings(): readonly string[] {
    const extra = this.dropped > MAX_WARNINGS ? [`probe.cacheFile ${quote(this.file)}: ${this.dropped - MAX_WARNINGS} more invalid entries dropped`] : [];
    return [...this.notes, ...extra];
  }

  /** Fresh entries for `keys`. Throws FnError CACHE_FILE_REFUSED when the file is not this function's. */
  async lookup(keys: Iterable<string>, now: number): Promise<Map<string, ProbeOutcome>> {
    const read = await this.read(now, true);
    const out = new Map<string, ProbeOutcome>();
    if (read.kind === 'absent') return out;
    for (const k of keys) {
      const e = read.entries.get(k);
      if (e && now - e.at < this.ttlMs) out.set(k, { verdict: e.verdict, reason: e.reason, cached: true });
    }
    return out;
  }

  /**
   * Adds decided outcomes (never inconclusive ones, never answers that came from the cache), drops expired entries.
   * Throws FnError CACHE_FILE_REFUSED when the file stopped being this function's; other trouble is a warning.
   */
  async store(outcomes: ReadonlyMap<string, ProbeOutcome>, now: number): Promise<void> {
    const fresh = [...outcomes].filter(([k, o]) => o.verdict !== 'inconclusive' && !o.cached && validKey(k));
    if (fresh.length === 0) return;
    const dir = dirname(this.file);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      this.note(`cannot create its directory (${code(e)}): ${fresh.length} decisions of this run were not stored`);
      return;
    }
    const release = await this.lock();
    if (!release) {
      this.note(`could not take ${quote(basename(this.file) + '.lock')} within ${this.lockWaitMs / 1000} s: ${fresh.length} decisions of this run were not stored`);
      return;
    }
    const tmp = join(dir, `.${basename(this.file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    try {
      const read = await this.read(now, false);
      const all = read.kind === 'entries' ? read.entries : new Map<string, Entry>();
      for (const [k, o] of fresh) all.set(k, { verdict: o.verdict as Verdict, reason: clip(o.reason), at: now });
      const text = serialise(all, now, this.ttlMs);
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await fh.chmod(0o600); // whatever the umask
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      await syncDir(dir);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      if (e instanceof FnError) throw e;
      this.note(`cannot write it (${code(e)}): ${fresh.length} decisions of this run were not stored`);
    } finally {
      await release();
    }
  }

  private get lockWaitMs(): number {
    return this.options.lockWaitMs ?? LOCK_WAIT_MS;
  }

  private note(text: string): void {
    this.notes.push(`probe.cacheFile ${quote(this.file)}: ${text}`);
  }

  private refuse(why: string): never {
    throw new FnError(
      'CACHE_FILE_REFUSED',
      `probe.cacheFile ${quote(this.file)} ${why}; the function reads and replaces only a decision cache it wrote itself (it starts with {"format":"${FORMAT}"}): point probe.cacheFile at a new path, or delete that file if it is an old cache`,
    );
  }

  /** The file's entries, or absent; refuses anything that is not this function's cache. */
  private async read(now: number, warn: boolean): Promise<ReadResult> {
    let st: Stats;
    try {
      st = await lstat(this.file);
    } catch (e) {
      const c = code(e);
      if (c === 'ENOENT') return { kind: 'absent' };
      if (c === 'ENOTDIR') this.refuse('is inside something that is not a directory');
      this.refuse(`cannot be examined (${c})`);
    }
    const kind = fileKind(st);
    if (kind !== 'file') this.refuse(`is ${kind}`);
    if (st.size > MAX_BYTES) this.refuse(`is ${mib(st.size)}, larger than any decision cache this function writes (${mib(MAX_BYTES)})`);
    const bytes = await this.readCapped(st);
    if (bytes.length === 0) return { kind: 'entries', entries: new Map() }; // an empty file (mktemp, touch): nothing to lose
    const text = bytes.toString('utf8');
    if (!text.startsWith(HEADER)) {
      if (/^\{\s*"version"\s*:\s*1\s*,\s*"entries"\s*:/.test(text)) {
        this.refuse('holds a decision cache of the first format (version 1, without a header), which this version does not read or replace');
      }
      this.refuse('is not a decision cache written by this function');
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      // Ours by its header, but cut or edited: nothing in it can be trusted, and replacing it loses nothing.
      if (warn) this.note('its header is this function\'s but it is not valid JSON: every entry was dropped, and it is rewritten on the next store');
      return { kind: 'entries', entries: new Map() };
    }
    const rec = data as { version?: unknown; entries?: unknown };
    if (rec.version !== VERSION) {
      this.refuse(`is a decision cache of format version ${quote(String(rec.version))}, not ${VERSION} (written by another version of this function)`);
    }
    const entries = new Map<string, Entry>();
    if (rec.entries === null || typeof rec.entries !== 'object' || Array.isArray(rec.entries)) {
      if (warn) this.note('its "entries" is not a mapping: every entry was dropped');
      return { kind: 'entries', entries };
    }
    let n = 0;
    for (const [k, v] of Object.entries(rec.entries as Record<string, unknown>)) {
      if (++n > MAX_ENTRIES) {
        if (warn) this.note(`it holds more than ${MAX_ENTRIES} entries: the rest were dropped`);
        break;
      }
      const problem = entryProblem(k, v, now);
      if (problem === undefined) {
        entries.set(k, v as Entry);
      } else if (warn) {
        this.dropped++;
        if (this.dropped <= MAX_WARNINGS) this.note(`dropped ${validKey(k) ? `the entry for ${k}` : 'an entry whose key is not an image reference'}: ${problem}`);
      }
    }
    return { kind: 'entries', entries };
  }

  /** Opens without following a link and without blocking, checks it is still the file lstat saw, reads at most MAX_BYTES + 1. */
  private async readCapped(seen: Stats): Promise<Buffer> {
    const timeoutMs = this.options.readTimeoutMs ?? READ_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const reading = (async (): Promise<Buffer> => {
      let fh;
      try {
        fh = await open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0));
      } catch (e) {
        const c = code(e);
        if (c === 'ELOOP') this.refuse('is a symbolic link');
        this.refuse(`cannot be opened (${c})`);
      }
      try {
        const st = await fh.stat();
        if (st.ino !== seen.ino || st.dev !== seen.dev) this.refuse('changed while it was being opened');
        const kind = fileKind(st);
        if (kind !== 'file') this.refuse(`is ${kind}`);
        if (st.size > MAX_BYTES) this.refuse(`is ${mib(st.size)}, larger than any decision cache this function writes (${mib(MAX_BYTES)})`);
        const buf = Buffer.alloc(Math.min(MAX_BYTES + 1, st.size + 1));
        let filled = 0;
        for (;;) {
          const { bytesRead } = await fh.read(buf, filled, buf.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
          if (filled >= buf.length) break;
        }
        if (filled > MAX_BYTES) this.refuse(`grew larger than ${mib(MAX_BYTES)} while it was being read`);
        return buf.subarray(0, filled);
      } finally {
        await fh.close();
      }
    })();
    try {
      const r = await Promise.race([reading, timeout]);
      if (r === 'timeout') {
        reading.catch(() => {});
        this.refuse(`could not be read within ${timeoutMs / 1000} s`);
      }
      return r;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Takes `<file>.lock`; resolves to its release, or undefined when the wait ran out. */
  private async lock(): Promise<(() => Promise<void>) | undefined> {
    const lockFile = `${this.file}.lock`;
    const staleMs = this.options.staleLockMs ?? STALE_LOCK_MS;
    const deadline = Date.now() + this.lockWaitMs;
    let wait = 5;
    for (;;) {
      try {
        const fh = await open(lockFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        const mine = await fh.stat();
        await fh.writeFile(`${process.pid}\n`).catch(() => {});
        await fh.close();
        return async () => {
          // remove it only if it is still ours (a stale-lock breaker may have replaced it)
          const st = await lstat(lockFile).catch(() => undefined);
          if (st && st.ino === mine.ino && st.dev === mine.dev) await unlink(lockFile).catch(() => {});
        };
      } catch (e) {
        if (code(e) !== 'EEXIST') return undefined;
      }
      const st = await lstat(lockFile).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > staleMs) {
        // left by a run that crashed while holding it; recheck it is the same file before removing it
        const again = await stat(lockFile).catch(() => undefined);
        if (again && again.ino === st.ino) await unlink(lockFile).catch(() => {});
        continue;
      }
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      wait = Math.min(wait * 2, 50);
    }
  }
}

function fileKind(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function validKey(k: string): boolean {
  if (k.length === 0 || k.length > MAX_KEY) return false;
  try {
    return formatReference(parseReference(k)) === k;
  } catch {
    return false;
  }
}

function entryProblem(k: string, v: unknown, now: number): string | undefined {
  if (!validKey(k)) return 'not a normalised image reference';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a mapping';
  const e = v as Record<string, unknown>;
  if (Object.keys(e).some((x) => x !== 'verdict' && x !== 'reason' && x !== 'at')) return 'unknown fields';
  if (typeof e['verdict'] !== 'string' || !VERDICTS.has(e['verdict'])) return 'its verdict is not public, private or private-404';
  const reason = e['reason'];
  if (typeof reason !== 'string' || reason === '') return 'its reason is not a text';
  if (reason.length > MAX_REASON) return `its reason is longer than ${MAX_REASON} characters`;
  if (CONTROL.test(reason)) return 'its reason holds control characters';
  const at = e['at'];
  if (typeof at !== 'number' || !Number.isInteger(at) || at < 0) return 'its time is not a whole number of milliseconds';
  if (at > now + FUTURE_SLACK_MS) return 'its time is in the future';
  return undefined;
}

function clip(reason: string): string {
  const one = reason.replace(new RegExp(CONTROL.source, 'g'), ' ');
  return one.length > MAX_REASON ? `${one.slice(0, MAX_REASON - 3)}...` : one;
}

/** Unexpired entries, newest first kept when over MAX_ENTRIES or MAX_BYTES; one entry per line. */
function serialise(all: ReadonlyMap<string, Entry>, now: number, ttlMs: number): string {
  let live = [...all].filter(([, e]) => now - e.at < ttlMs);
  live.sort((a, b) => b[1].at - a[1].at);
  if (live.length > MAX_ENTRIES) live = live.slice(0, MAX_ENTRIES);
  const lines = live.map(([k, e]) => `${JSON.stringify(k)}:${JSON.stringify({ verdict: e.verdict, reason: e.reason, at: e.at })}`);
  const head = `${HEADER}${VERSION},\n"entries":{\n`;
  const tail = '\n}}\n';
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const kept: string[] = [];
  for (const l of lines) {
    const add = Buffer.byteLength(l) + 2;
    if (size + add > MAX_BYTES) break;
    size += add;
    kept.push(l);
  }
  kept.sort();
  return head + kept.join(',\n') + tail;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // not every file system lets a directory be fsynced; the rename is done either way
  }
}

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
