/**
 * `--stream` (plain multi-document YAML in and out, also kustomize's legacy exec plugin mode): a failure is exit 1
 * with nothing on stdout and a message on stderr that names what and where; never a silent exit 1.
 */
import assert from 'node:assert/strict';
import { aliasBomb, assertNoStack, docs, ENV, execFn, OK_ARGS } from './support.js';


describe('hardening: --stream failures', function () {
  this.timeout(60_000);
    it('an unreadable stream names the document', () => {
      const r = execFn('apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\na: [\n', ['--stream', ...OK_ARGS]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assertNoStack(r.stderr, 'stderr');
      assert.match(r.stderr, /document 2, is not valid YAML/);
    });

    it('an object without apiVersion', () => {
      const r = execFn('kind: Pod\nmetadata: {name: web}\n', ['--stream', ...OK_ARGS]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /document 1 of the stream \(metadata\.name "web"\) has no apiVersion/);
    });

    it('an alias bomb', () => {
      const r = execFn(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n${aliasBomb()}`, ['--stream', ...OK_ARGS]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assertNoStack(r.stderr, 'stderr');
      assert.match(r.stderr, /aliases/);
    });

    it('a bad image names the object and field', () => {
      const r = execFn('apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ns}\nspec: {containers: [{name: a, image: 5}]}\n', ['--stream', ...OK_ARGS]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /v1\/Pod\/ns\/web spec\.containers\[0\]\.image: image must be a string, got number 5/);
    });

    it('a good stream still works', () => {
      const r = execFn('apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ns}\nspec: {containers: [{name: a, image: quay.io/o/a:1}]}\n', ['--stream', ...OK_ARGS], { env: ENV });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(docs(r.stdout).length, 2);
    });
  });
