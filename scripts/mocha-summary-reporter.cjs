// Mocha reporter: the usual spec output, then one closing line computed from the
// real results — `N passed, N failed` — which CI reads.
'use strict';
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    runner.on(EVENT_TEST_PASS, () => {
      passed += 1;
    });
    // A failing hook fails the tests it guards; mocha reports it as one failure.
    runner.on(EVENT_TEST_FAIL, () => {
      failed += 1;
    });
    runner.once(EVENT_RUN_END, () => {
      process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
    });
  }
}

module.exports = SummaryReporter;
