// The integration tier's vitest settings, shared by every project that has one: these tests
// touch real Linux, real processes and real VMs, so they run one file at a time with
// timeouts sized for VM boots under TCG.
export const integrationTest = {
  include: ['test/integration/**/*.integration-spec.ts'],
  passWithNoTests: true,
  fileParallelism: false,
  testTimeout: 180_000,
  hookTimeout: 180_000,
};
