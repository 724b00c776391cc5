import { backoffMs, isRetryableStatus, parseRetryAfter } from './classify.js';
import { printable, type HttpResult } from './http.js';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
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
};

export interface RetryContext {
  readonly retries: number;
  readonly backoffBaseMs: number;
  readonly clock: Clock;
  /** epoch ms of the overall deadline */
  readonly deadlineAt: number;
  readonly signal: AbortSignal;
}

/** A final answer from the retry loop: the last result and, when it failed, a one-line reason. */
export interface Attempted {
  readonly result: HttpResult;
  /** set when result is a failure, a refusal or a retryable status that outlasted the retries */
  readonly failed?: string;
}

export async function withRetries(method: string, send: () => Promise<HttpResult>, ctx: RetryContext): Promise<Attempted> {
  for (let attempt = 0; ; attempt++) {
    const result = await send();
    const what = `${method} ${printable(result.url)}`;
    if (result.kind === 'refused') return { result, failed: result.reason };
    const retryable = result.kind === 'failure' ? result.retryable : isRetryableStatus(result.status);
    if (!retryable) {
      if (result.kind === 'failure') return { result, failed: `${what} failed: ${result.cause}` };
      return { result };
    }
    const describe = (tail: string): string =>
      result.kind === 'failure' ? `${what} failed: ${result.cause}${tail}` : `${what} answered ${result.status}${tail}`;
    const tries = attempt === 0 ? '' : ` (after ${attempt} ${attempt === 1 ? 'retry' : 'retries'})`;
    if (attempt >= ctx.retries) return { result, failed: describe(tries) };
    const now = ctx.clock.now();
    const hinted = result.kind === 'response' ? parseRetryAfter(result.headers['retry-after'], now) : undefined;
    const delay = hinted ?? backoffMs(attempt, ctx.backoffBaseMs);
    if (now + delay >= ctx.deadlineAt) {
      const why = hinted !== undefined ? `; Retry-After ${Math.ceil(hinted / 1000)} s goes past the deadline` : '; no time left before the deadline';
      return { result, failed: describe(tries + why) };
    }
    await ctx.clock.sleep(delay, ctx.signal);
    if (ctx.signal.aborted) return { result, failed: 'deadline exceeded' };
  }
}
