import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'yaml';
import { scalarOf } from '../../src/render/text.js';

describe('scalarOf: a string as YAML text', () => {
  it('keeps --flag=IMAGE plain, as the input wrote it', () => {
    assert.equal(scalarOf('--engine-image=quay.io/acme/engine:1.0'), '--engine-image=quay.io/acme/engine:1.0');
    assert.equal(scalarOf('-f'), '-f');
  });

  it('quotes what plain YAML would read as something else', () => {
    for (const s of ['-1', '-e5', '- x', '--', '-', '-.inf', 'true', '-:x', '-1:20', 'Z:', 'quay.io/a:']) assert.equal(parse(`k: ${scalarOf(s)}`).k, s, s);
  });

  it('reads back as the same string, in block and flow context, whatever the string', () => {
    const chars = fc.constantFrom(...'-=:/._@+aZ09 ,[]{}#&*!|>\'"%`?\n'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 12 }), (s) => {
        assert.equal(parse(`k: ${scalarOf(s)}`).k, s);
        assert.deepEqual(parse(`k: [a, ${scalarOf(s)}]`).k, ['a', s]);
        assert.deepEqual(parse(`k:\n- ${scalarOf(s)}`).k, [s]);
      }),
      { numRuns: 3000 },
    );
  });
});
