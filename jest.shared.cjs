// The Jest settings every project shares; each project's jest*.config.cjs is one call below.
// TypeScript goes through swc with the decorator settings of tsconfig.base.json (NestJS's
// dependency injection needs emitDecoratorMetadata).
//
// Most projects run as CommonJS, like their build. `esm: true` runs the tests as native ES
// modules instead, which needs `node --experimental-vm-modules` (NODE_OPTIONS): the control
// plane's, because NestJS 12 ships ES modules only and Jest loads those only through VM modules,
// and the e2e tests, which import the plain-Node e2e/support/*.mjs helpers. Code written for
// CommonJS keeps its __dirname and __filename there: swc rewrites them to import.meta's.

/** @typedef {import('jest').Config} Config */

/** @param {boolean} esm @returns {Config['transform']} */
const swcTransform = (esm) => ({
  '^.+\\.ts$': [
    '@swc/jest',
    {
      swcrc: false,
      jsc: {
        target: 'es2022',
        parser: { syntax: 'typescript', decorators: true },
        keepClassNames: true,
        transform: {
          legacyDecorator: true,
          decoratorMetadata: true,
          ...(esm && { optimizer: { globals: { vars: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' } } } }),
        },
      },
      module: { type: esm ? 'es6' : 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
});

/** @param {{ esm?: boolean }} mode @param {Config} settings @returns {Config} */
const jestConfig = ({ esm = false }, settings) => ({
  testEnvironment: 'node',
  transform: swcTransform(esm),
  ...(esm && { extensionsToTreatAsEsm: ['.ts'] }),
  ...settings,
});

module.exports = {
  /** Unit tests: `*.spec.ts` beside the code, under `src/` or the folders given. */
  unitTests: ({ folders = ['src'], esm } = {}) => jestConfig({ esm }, { testMatch: folders.map((folder) => `<rootDir>/${folder}/**/*.spec.ts`) }),

  /**
   * Integration tests: real Linux, real processes and real VMs. Their targets run one file at a
   * time (--runInBand); the timeout, of tests and hooks alike, is sized for VM boots under TCG.
   */
  integrationTests: ({ esm } = {}) => jestConfig({ esm }, { testMatch: ['<rootDir>/test/integration/**/*.integration-spec.ts'], testTimeout: 180_000 }),

  jestConfig,
};
