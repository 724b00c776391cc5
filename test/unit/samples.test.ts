import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const DIR = new URL('../../functionconfig/samples/', import.meta.url);

describe('functionconfig/samples', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  it('has a sample per field group', () => {
    for (const group of ['minimal', 'proxy', 'license', 'pull-secret', 'images', 'images-in-values', 'probe', 'fieldspecs', 'output', 'configmap']) {
      assert.ok(files.includes(`${group}.yaml`), `${group}.yaml is missing`);
    }
  });
  for (const file of files) {
    it(`${file} passes the schema`, () => {
      const config = loadConfig(parse(readFileSync(new URL(file, DIR), 'utf8')));
      assert.equal(config.appSlug, 'my-app');
    });
  }
});
