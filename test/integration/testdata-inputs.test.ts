/**
 * The golden tier's example inputs (test/testdata/example-*) are what the real tools send: kpt fn render / eval,
 * standalone kustomize and kubectl kustomize run each example with a stand-in function that records its input
 * (test/support/capture-inputs.ts), and the recording must equal the checked-in copy.
 */
import assert from 'node:assert/strict';
import { captureCase, checkTools, differences, EXAMPLE_CASES } from '../support/capture-inputs.js';

describe('test/testdata example inputs equal what kpt and kustomize send today', function () {
  before(function () {
    this.timeout(1_800_000); // standalone kustomize may be built with go install on a machine's first run
    checkTools();
  });

  for (const c of EXAMPLE_CASES) {
    it(`${c.case}: examples/${c.example} through ${c.how.tool}`, function () {
      this.timeout(120_000);
      const diff = differences(c, captureCase(c));
      assert.deepEqual(diff, [], 'regenerate with: node --import tsx test/support/capture-inputs.ts --write (then UPDATE_GOLDEN=1 for the expectations, and review)');
    });
  }
});
