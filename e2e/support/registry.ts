// A real OCI registry (Debian's docker-registry) on loopback and images built by the tests.
export * from '@moat/test-registry';
