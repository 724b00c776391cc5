import { backoffMs, isRetryableStatus, parseRetryAfter } from './classify.js';
import { printable, type HttpResult } from './http.js';

/** A signal that aborts after a delay; cancel() releases it early (the request finished). */
export interface Timer {
  readonly signal: AbortSignal;
  cancel(): void;
}

/**
 * Where the probe gets its time from: `now` for deadlines and token lifetimes, `sleep` for backoff,
 * `timer` for per-request timeouts and the overall deadline. Tests inject a fake clock; a clock
 * without `timer` gets real (unref'd) timers for those.
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  timer?(ms: number): Timer;
}

/** A real timer that does not keep the process alive. */
export function realTimer(ms: number): Timer {
  const controller = new AbortController();
  const t = setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  t.unref?.();
  return { signal: controller.signal, cancel: () => clearTimeout(t) };
}

export function timerOf(clock: Clock, ms: number): Timer {
  return clock.timer ? clock.timer(ms) : realTimer(ms);
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
  timer: realTimer,
};

export interface RetryContext {
  readonly retries: number;
  readonly backoffBaseMs: number;
  readonly clock: Clock;
  /** epoch ms of the overall deadline */
  readonly deadlineAt: number;
  /** aborts when the overall deadline is reached */
  readonly signal: AbortSignal;
  /** per-attempt timeout (probe.timeoutSeconds); an attempt that outlasts it is a timeout */
  readonly timeoutMs: number;
}

/**
 * How often a request that timed out is sent again: once. A registry that hangs once mostly hangs
 * again, and every further try would spend another full timeout of the deadline (see docs/probing.md).
 * 429, 5xx and other network errors keep `retries`.
 */
export const TIMEOUT_RETRIES = 1;

/** A final answer from the retry loop: the last result and, when it failed, a one-line reason. */
export interface Attempted {
  readonly result: HttpResult;
  /** set when result is a failure, a refusal or a retryable status that outlasted the retries */
  readonly failed?: string;
  /** the last attempt timed out */
  readonly timedOut?: boolean;
}

/** One attempt's answer, as the retry loop judges it: `timedOut` when this attempt's own timeout fired. */
export interface Attempt {
  readonly result: HttpResult;
  readonly timedOut: boolean;
}

/** One attempt under the per-attempt timeout (probe.timeoutSeconds), the overall deadline and `signal`. */
export async function attemptOnce(send: (signal: AbortSignal) => Promise<HttpResult>, ctx: RetryContext, signal?: AbortSignal): Promise<Attempt> {
  const timer = timerOf(ctx.clock, ctx.timeoutMs);
  let result: HttpResult;
  try {
    result = await send(AbortSignal.any(signal ? [ctx.signal, timer.signal, signal] : [ctx.signal, timer.signal]));
  } finally {
    timer.cancel();
  }
  const timedOut = result.kind === 'failure' && !ctx.signal.aborted && (timer.signal.aborted || result.cause.startsWith('timed out'));
  if (timedOut && result.kind === 'failure' && !result.cause.startsWith('timed out')) {
    // this attempt's own timer fired first; the transport saw an abort
    result = { kind: 'failure', cause: `timed out after ${ctx.timeoutMs / 1000} s`, retryable: true, url: result.url };
  }
  return { result, timedOut };
}

/**
 * Sends with retries. `send` gets the signal to use: the overall deadline and this attempt's timeout.
 * `first`: the first attempt was already made (a manifest HEAD sent while the registry's ping was out);
 * it is judged as attempt 0, so a retry after it counts as the first retry.
 */
export async function withRetries(method: string, send: (signal: AbortSignal) => Promise<HttpResult>, ctx: RetryContext, first?: Attempt): Promise<Attempted> {
  let timeouts = 0;
  for (let attempt = 0; ; attempt++) {
    const { result, timedOut } = attempt === 0 && first ? first : await attemptOnce(send, ctx);
    const what = `${method} ${printable(result.url)}`;
    if (result.kind === 'refused') return { result, failed: result.reason };
    const retryable = result.kind === 'failure' ? result.retryable : isRetryableStatus(result.status);
    if (!retryable) {
      if (result.kind === 'failure') return { result, failed: `${what} failed: ${result.cause}` };
      return { result };
    }
    const failure = result;
    const describe = (tail: string): string =>
      failure.kind === 'failure' ? `${what} failed: ${failure.cause}${tail}` : `${what} answered ${failure.status}${tail}`;
    const tries = attempt === 0 ? '' : ` (after ${attempt} ${attempt === 1 ? 'retry' : 'retries'})`;
    if (timedOut) timeouts++;
    if (attempt >= ctx.retries || timeouts > TIMEOUT_RETRIES) return { result, failed: describe(tries), ...(timedOut && { timedOut }) };
    const now = ctx.clock.now();
    const hinted = result.kind === 'response' ? parseRetryAfter(result.headers['retry-after'], now) : undefined;
    const delay = hinted ?? backoffMs(attempt, ctx.backoffBaseMs);
    if (now + delay >= ctx.deadlineAt) {
      const why = hinted !== undefined ? `; Retry-After ${Math.ceil(hinted / 1000)} s goes past the deadline` : '; no time left before the deadline';
      return { result, failed: describe(tries + why), ...(timedOut && { timedOut }) };
    }
    await ctx.clock.sleep(delay, ctx.signal);
    if (ctx.signal.aborted) return { result, failed: 'deadline exceeded' };
  }
}
