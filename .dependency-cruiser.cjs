/**
 * Import-graph rules checked by `npm test` (the `lint` tier runs `depcruise`): no loop between
 * files, and none between folders, within any project. See dependency-cruiser's rules reference.
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
    {
      name: 'no-folder-cycle',
      comment: 'Folders (concerns) that depend on each other are one concern in two places.',
      severity: 'error',
      scope: 'folder',
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
