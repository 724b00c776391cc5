/**
 * The fast reader of block ResourceLists (src/read/block-list.ts) must give exactly what yaml gives for the whole
 * text, node by node and range by range, or nothing (then the whole text is parsed). A difference would move an
 * edit, and break the promise that bytes outside edited spans stay as they were.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Composer, Parser, visit, type Document } from 'yaml';
import { readBlockResourceList } from '../../src/read/block-list.js';
import { PARSE_OPTIONS, readInput } from '../../src/read/input.js';
import { generate } from '../../bench/lib/workload.mjs';
import { treeDiff } from '../helpers/yaml-tree.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function whole(src: string): Document.Parsed[] {
  return [...new Composer(PARSE_OPTIONS).compose(new Parser().parse(src))] as Document.Parsed[];
}

const hooks = { options: PARSE_OPTIONS, check: (token: unknown) => JSON.stringify(token).includes('"type":"alias"') };

function hasAlias(doc: Document.Parsed): boolean {
  let found = false;
  visit(doc, { Alias: () => void (found = true) });
  return found;
}

/** undefined when the fast reader agrees with the whole parse (or stands aside); else what differs. */
function disagreement(src: string): string | undefined {
  const fast = readBlockResourceList(src, hooks);
  const docs = whole(src);
  if (!fast) return undefined;
  if (docs.length !== 1) return `the fast reader read a stream of ${docs.length} documents`;
  if (docs[0]!.errors.length > 0) return `the fast reader accepted invalid YAML: ${docs[0]!.errors[0]!.message}`;
  if (fast.aliases !== hasAlias(docs[0]!)) return `aliases: ${fast.aliases} vs ${hasAlias(docs[0]!)}`;
  return treeDiff(fast.doc.contents, docs[0]!.contents);
}

const RL = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n';
const indented = (text: string, by: string) => text.replace(/^(?=.)/gm, by);
const POD = (name: string, image = 'quay.io/org/api:1') => `- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: ${name}\n  spec:\n    containers:\n    - name: c\n      image: ${image}\n`;

describe('the fast block ResourceList reader', () => {
  it('reads the bench workloads, every testdata ResourceList it takes, and the examples, exactly as the whole parse does', () => {
    const texts: [string, string][] = [['bench 200', generate(200).resourceList]];
    const testdata = join(ROOT, 'test', 'testdata');
    for (const c of readdirSync(testdata)) {
      const f = join(testdata, c, 'input.yaml');
      if (existsSync(f)) texts.push([c, readFileSync(f, 'utf8')]);
    }
    let taken = 0;
    for (const [name, text] of texts) {
      assert.equal(disagreement(text), undefined, name);
      if (readBlockResourceList(text, hooks)) taken++;
    }
    // kpt's and kustomize's inputs are what it is for: most cases must take it, or the bench measures the slow path
    assert.ok(taken >= 40, `only ${taken} of ${texts.length} inputs took the fast path`);
    assert.ok(readBlockResourceList(generate(200).resourceList, hooks), 'the bench input must take the fast path');
  });

  const fast: [string, string][] = [
    ['LF', `${RL}items:\n${POD('a')}${POD('b')}functionConfig:\n  appSlug: x\n`],
    ['CRLF', `${RL}items:\n${POD('a')}${POD('b')}functionConfig:\n  appSlug: x\n`.replace(/\n/g, '\r\n')],
    ['indented entries', `${RL}items:\n${indented(POD('a'), '  ')}${indented(POD('b'), '  ')}`],
    ['comments and blank lines between entries', `${RL}items: # the items\n# first\n${POD('a')}\n  # inside\n# between\n\n${POD('b')}# after\nresults: []\n`],
    ['a block scalar with dashes in it', `${RL}items:\n- apiVersion: v1\n  kind: ConfigMap\n  data:\n    x: |-\n      - not an entry\n      ---\n${POD('b')}`],
    ['keys before and after items', `apiVersion: config.kubernetes.io/v1\nitems:\n${POD('a')}kind: ResourceList\nfunctionConfig: {appSlug: x}\n`],
    ['an alias to an anchor in an earlier entry (the alias index reads the joined tree in order)', `${RL}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: &n cm}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: *n}\n`],
    ['an alias inside one entry', `${RL}items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: &n cm}\n  data: {a: *n}\n`],
    ['no newline at the end', `${RL}items:\n${POD('a').trimEnd()}`],
  ];
  for (const [name, text] of fast) {
    it(`takes ${name}, and reads it as the whole parse does`, () => {
      assert.ok(readBlockResourceList(text, hooks), 'fell back to the whole parse');
      assert.equal(disagreement(text), undefined);
    });
  }

  const fallback: [string, string][] = [
    ['a duplicate root key after the list', `${RL}items:\n${POD('a')}kind: ResourceList\n`],
    ['a document start marker', `---\n${RL}items:\n${POD('a')}`],
    ['a second document', `${RL}items:\n${POD('a')}---\n${RL}items: []\n`],
    ['a directive', `%YAML 1.1\n---\n${RL}items:\n${POD('a')}`],
    ['a flow list', `${RL}items: [{apiVersion: v1, kind: Pod}]\n`],
    ['a quoted scalar whose continuation line looks like an entry', `${RL}items:\n- apiVersion: v1\n  kind: ConfigMap\n  data: {a: "x\n- y"}\n`],
    ['a tab before an entry', `${RL}items:\n\t- apiVersion: v1\n`],
    ['a merge key at the root', `base: &b {x: 1}\n<<: *b\n${RL}items:\n${POD('a')}`],
    ['a line less indented than the entries', `${RL}items:\n  - apiVersion: v1\n    kind: Pod\n kind: x\n`],
    ['a list at column 0 before items', `- a\n${RL}items:\n${POD('a')}`],
    ['a byte-order mark', `\uFEFF${RL}items:\n${POD('a')}`],
    ['invalid YAML inside an entry', `${RL}items:\n- apiVersion: v1\n  kind: Pod\n  kind: Pod\n`],
  ];
  for (const [name, text] of fallback) {
    it(`stands aside for ${name}`, () => {
      assert.equal(readBlockResourceList(text, hooks), undefined);
    });
  }

  it('reports invalid YAML in an entry with the whole parse\'s words and position', () => {
    const text = `${RL}items:\n${POD('a')}- apiVersion: v1\n  kind: Pod\n  kind: Pod\n`;
    assert.throws(() => readInput(text), (e: Error & { details?: string[] }) => {
      assert.deepEqual(e.details, ['Map keys must be unique at line 14, column 3']);
      return true;
    });
  });

  it('agrees with the whole parse on generated texts (property, 400 runs), and takes the fast path for most of them', () => {
    const indent = fc.constantFrom('', '  ');
    const scalar = fc.constantFrom('plain', '"double"', "'single'", '9223372036854775807', '-0', '1e400', 'null', '~', 'yes', '"multi\n  line"', 'multi\n  plain', '&a anchored', '*a', '!!str tagged', '{a: 1}', '[1, 2]');
    const field = fc.record({ key: fc.constantFrom('a', 'b', 'image', 'name', 'x y', '"q"'), value: scalar, block: fc.constantFrom('', '|-', '>-', '|+', '|2') });
    const entry = fc.record({
      fields: fc.array(field, { minLength: 1, maxLength: 4 }),
      comment: fc.constantFrom('', '# c\n', '  # c\n', '\n'),
      nested: fc.boolean(),
    });
    const text = fc.record({
      head: fc.constantFrom(RL, `kind: ResourceList\n# c\napiVersion: config.kubernetes.io/v1\n`, `${RL}functionConfig: {appSlug: x}\n`),
      itemsLine: fc.constantFrom('items:\n', 'items: # c\n', 'items:   \n'),
      indent,
      entries: fc.array(entry, { minLength: 1, maxLength: 5 }),
      tail: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom('', 'functionConfig:\n  appSlug: x\n', 'results:\n- message: m\n  severity: info\n', '# end\n') },
        // a duplicate key, a second document, a document end: the fast reader must stand aside
        { weight: 2, arbitrary: fc.constantFrom('kind: again\n', '---\nx: 1\n', '...\n') },
      ),
      crlf: fc.boolean(),
    });
    let taken = 0;
    fc.assert(
      fc.property(text, (t) => {
        let body = '';
        for (const e of t.entries) {
          body += e.comment;
          e.fields.forEach((f, i) => {
            const lead = i === 0 ? `${t.indent}- ` : `${t.indent}  `;
            const pad = `${t.indent}    `;
            const value = f.block ? `${f.block}\n${pad}line one\n${pad}- line two\n` : `${f.value.replace(/\n/g, `\n${t.indent}`)}\n`;
            body += `${lead}${f.key}: ${value}`;
            if (e.nested && i === 0) body += `${t.indent}  spec:\n${t.indent}    containers:\n${t.indent}    - image: quay.io/o/a:1\n`;
          });
        }
        let src = `${t.head}${t.itemsLine}${body}${t.tail}`;
        if (t.crlf) src = src.replace(/\n/g, '\r\n');
        const d = disagreement(src);
        assert.equal(d, undefined, `${d}\n--- input:\n${src}`);
        if (readBlockResourceList(src, hooks)) taken++;
      }),
      { numRuns: 400, seed: 20261201 },
    );
    assert.ok(taken >= 100, `only ${taken} of 400 generated texts took the fast path: the property tests little`);
  });
});
