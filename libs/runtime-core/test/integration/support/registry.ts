// The local registry the image tests push to lives in @moat/test-registry (shared with e2e and the bench).
export * from '@moat/test-registry';
