/** The alias index's counts (read/aliases.ts), as the plan's sharing check asks them. */
import assert from 'node:assert/strict';
import { isMap, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { indexAliases, lateAliasIndex } from '../../src/read/aliases.js';
import { PARSE_OPTIONS } from '../../src/read/input.js';

const TEXT = `containers:
- &base {name: a, image: quay.io/org/a:1}
- {<<: *base, name: b, image: quay.io/org/b:1}
- {<<: *base, name: c}
`;

function indexed(): { doc: Document.Parsed; base: YAMLMap } {
  const doc = parseDocument(TEXT, PARSE_OPTIONS) as Document.Parsed;
  const list = (doc.contents as YAMLMap).get('containers', true);
  assert.ok(isSeq(list) && isMap(list.items[0]));
  return { doc, base: list.items[0] as YAMLMap };
}

describe('alias index: visits', () => {
  it('counts the anchored map once for itself and once per alias; under a key, not the merges that set that key after `<<`', () => {
    const { doc, base } = indexed();
    const index = indexAliases([doc], TEXT);
    assert.equal(index.visits(base as Node), 3);
    assert.equal(index.visits(base as Node, 'image'), 2, 'b sets its own image: it does not show a\'s');
    assert.equal(index.visits(base as Node, 'name'), 1, 'b and c set their own names');
  });

  it('a late index answers as the index it is given, key and all', () => {
    const { doc, base } = indexed();
    const index = indexAliases([doc], TEXT);
    const late = lateAliasIndex();
    assert.equal(late.visits(base as Node, 'image'), 1, 'before it is set it knows no alias');
    late.set(index);
    assert.equal(late.visits(base as Node), index.visits(base as Node));
    assert.equal(late.visits(base as Node, 'image'), index.visits(base as Node, 'image'));
  });
});
