/**
 * How dependency-cruiser reads the tree for tools/dev/import-cycles.mjs (the first tier of
 * `npm test`): its rule finds loops between files; the script finds loops between folders.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      comment: 'Files that import each other, directly or through others, cannot be read or changed one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '/dist/', '\\.spec\\.ts$', '\\.integration-spec\\.ts$', '\\.e2e-spec\\.ts$', '\\.d\\.ts$', '/\\.next/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs'] },
  },
};
