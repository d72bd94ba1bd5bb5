// Whole-system tests against the stack e2e/run.mjs started: real VMs, one file at a time (run.mjs
// passes --runInBand).
module.exports = require('../jest.shared.cjs').jestConfig({ esm: true }, { testMatch: ['<rootDir>/api/**/*.e2e-spec.ts'], testTimeout: 240_000 });
