import assert from 'node:assert/strict';
import { backoffMs, classifyStatus, parseRetryAfter } from '../../src/probe/classify.js';

describe('probe: classification table', () => {
  it('maps statuses as behavior.md says', () => {
    const table: Array<[number, string]> = [
      [200, 'public'], [204, 'public'], [401, 'private'], [403, 'private'], [404, 'private-404'],
      [408, 'retry'], [429, 'retry'], [500, 'retry'], [502, 'retry'], [503, 'retry'], [504, 'retry'],
      [400, 'unexpected'], [405, 'unexpected'], [410, 'unexpected'], [301, 'unexpected'],
    ];
    for (const [s, want] of table) assert.equal(classifyStatus(s), want, String(s));
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(['7'], now), 7000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-1', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('backs off exponentially with jitter', () => {
    assert.equal(backoffMs(0, 100, () => 0), 50);
    assert.equal(backoffMs(3, 100, () => 0.999), 800);
    for (let a = 0; a < 5; a++) {
      const d = backoffMs(a, 100);
      assert.ok(d >= 50 * 2 ** a && d <= 100 * 2 ** a);
    }
  });
});
