import type { Clock, Timer } from '../../src/probe/retry.js';

/**
 * A clock whose time only moves when told to (advance) or, with autoAdvance, whenever the process has
 * been idle for a few real milliseconds: it then jumps to the earliest pending timer and fires it.
 * Timeouts, backoff sleeps, token lifetimes and the probe deadline all run on it, so a test at the
 * default settings (10 s timeouts, 30 s deadline) finishes in milliseconds of real time, and its
 * assertions are about virtual time: `elapsed()`.
 */
export class FakeClock implements Clock {
  private t: number;
  private readonly start: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fire: () => void }>();
  private ticker: NodeJS.Timeout | undefined;
  /** every timer armed or sleep started, in virtual ms from the start */
  readonly armed: Array<{ at: number; ms: number; kind: 'sleep' | 'timer' }> = [];

  constructor(start = Date.UTC(2026, 11, 1, 12, 0, 0)) {
    this.t = start;
    this.start = start;
  }

  now(): number {
    return this.t;
  }

  /** virtual ms since the clock was made */
  elapsed(): number {
    return this.t - this.start;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.armed.push({ at: this.elapsed(), ms, kind: 'sleep' });
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const id = this.schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        this.timers.delete(id);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  timer(ms: number): Timer {
    this.armed.push({ at: this.elapsed(), ms, kind: 'timer' });
    const controller = new AbortController();
    const id = this.schedule(ms, () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')));
    return { signal: controller.signal, cancel: () => void this.timers.delete(id) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next[1].at > until) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fire();
    }
    this.t = until;
  }

  /**
   * Fires the earliest pending timer whenever no timer was armed or released for two ticks of `idleMs`
   * real milliseconds (network answers on loopback arrive well within that). Returns a function that stops it.
   */
  autoAdvance(idleMs = 20): () => void {
    let lastSeq = this.seq;
    let lastSize = this.timers.size;
    let quiet = 0;
    const tick = () => {
      const changed = this.seq !== lastSeq || this.timers.size !== lastSize;
      lastSeq = this.seq;
      lastSize = this.timers.size;
      quiet = changed ? 0 : quiet + 1;
      // two quiet ticks in a row: whatever the last timer set off on the network has settled
      if (quiet >= 2) {
        const next = this.earliest();
        if (next) {
          this.timers.delete(next[0]);
          this.t = Math.max(this.t, next[1].at);
          next[1].fire();
          lastSize = this.timers.size;
          quiet = 0;
        }
      }
      this.ticker = setTimeout(tick, idleMs);
    };
    this.ticker = setTimeout(tick, idleMs);
    return () => clearTimeout(this.ticker);
  }

  pending(): number {
    return this.timers.size;
  }

  private schedule(ms: number, fire: () => void): number {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fire });
    return id;
  }

  private earliest(): [number, { at: number; fire: () => void }] | undefined {
    let best: [number, { at: number; fire: () => void }] | undefined;
    for (const entry of this.timers) if (!best || entry[1].at < best[1].at) best = entry;
    return best;
  }
}
