/**
 * `checkTokens` (src/read/input.ts) decides from the CST whether there is an alias index to build. A miss would
 * leave alias bombs unchecked and aliased image fields unfound, so it must see every alias yaml composes.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Composer, Document, Parser, visit, YAMLMap, type CST } from 'yaml';
import { checkTokens, PARSE_OPTIONS } from '../../src/read/input.js';

function seen(text: string): { tokens: boolean; nodes: boolean } {
  let tokens = false;
  let nodes = false;
  const composer = new Composer(PARSE_OPTIONS);
  for (const token of new Parser().parse(text)) {
    if (checkTokens(token as CST.Token, text, 0)) tokens = true;
    for (const doc of composer.next(token)) visit(doc, { Alias: () => void (nodes = true) });
  }
  for (const doc of composer.end()) visit(doc, { Alias: () => void (nodes = true) });
  return { tokens, nodes };
}

describe('checkTokens: aliases in the CST', () => {
  const cases: [string, string][] = [
    ['a block map value', 'a: &x 1\nb: *x\n'],
    ['a block map key', 'a: &x k\n*x : 2\n'],
    ['an explicit key', 'a: &x k\n? *x\n: 2\n'],
    ['a flow map key and value', 'a: &x k\nb: {*x : *x}\n'],
    ['a flow list', 'a: &x k\nb: [*x, [*x]]\n'],
    ['a block list', 'a: &x k\nb:\n- *x\n'],
    ['a document of its own', 'a: &x k\n---\n*x\n'],
    ['a merge key', 'a: &x {k: 1}\nb:\n  <<: *x\n'],
    ['deep in flow inside block', 'a: &x k\nb:\n  c: [{d: [{e: *x}]}]\n'],
  ];
  for (const [name, text] of cases) {
    it(`sees an alias in ${name}`, () => assert.deepEqual(seen(text), { tokens: true, nodes: true }));
  }

  it('sees no alias where there is only a `*` in a string or an anchor', () => {
    assert.deepEqual(seen('a: "*x"\nb: &x 1\nc: "*/15 * * * *"\nd: x*y\n'), { tokens: false, nodes: false });
  });

  it('agrees with a visit of the composed documents on generated YAML (property, 300 runs)', () => {
    const leaf = fc.oneof(fc.constantFrom('*', 'a*b', '&x', '*x'), fc.integer(), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('list'), tie('map')),
      list: fc.array(tie('node'), { maxLength: 4 }),
      map: fc.dictionary(fc.constantFrom('a', 'b', '*c', 'd e'), tie('node'), { maxKeys: 4 }),
    })).node;
    fc.assert(
      fc.property(tree, tree, fc.constantFrom('block', 'flow'), fc.boolean(), (x, y, style, complexKey) => {
        // a shared object is written once with an anchor and then as aliases
        const shared = { s: x };
        const value = complexKey ? new YAMLMap() : { one: shared, two: y, three: [shared] };
        if (value instanceof YAMLMap) {
          const doc0 = new Document();
          value.set(doc0.createNode(shared), 1);
          value.set('k', doc0.createNode(y));
        }
        const doc = new Document(value, { aliasDuplicateObjects: true });
        const text = doc.toString({ collectionStyle: style === 'flow' ? 'flow' : 'any' });
        const r = seen(text);
        assert.equal(r.tokens, r.nodes, text);
      }),
      { numRuns: 300, seed: 1201 },
    );
  });
});
