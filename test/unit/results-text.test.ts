import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { resultsText } from '../../src/render/results-text.js';

describe('results writer', () => {
  it('writes YAML that reads back as the same results, whatever the strings hold', () => {
    const results = [
      { severity: 'info', message: 'a -> b: "quoted" #not a comment', resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'n' }, field: { path: 'spec.x[0].image', currentValue: 'true', proposedValue: '1.0' } },
      { severity: 'error', message: "line1\nline2 'single' \\ backslash", file: { path: 'a b.yaml', index: 0 } },
      { severity: 'warning', message: '', tags: { 'x.y/z': 'null' } },
      { severity: 'info', message: '- starts like a list', field: { path: '[weird]' } },
    ];
    assert.deepEqual(parse(resultsText(results)), { results });
  });
});
