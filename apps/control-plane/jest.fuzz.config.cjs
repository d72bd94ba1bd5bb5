module.exports = require('../../jest.shared.cjs').jestConfig({ esm: true }, { testMatch: ['<rootDir>/test/fuzz/**/*.fuzz-spec.ts'], testTimeout: 300_000 });
