// A real OCI registry (Debian's docker-registry) on loopback and images built by the tests.
// The runtime-core integration tests own this support; sharing it keeps both tiers pushing
// images one way. It is test code, not part of @moat/runtime-core's API, hence the path import.
// eslint-disable-next-line @nx/enforce-module-boundaries
export { busyboxLayer, REGISTRY_BINARY, startRegistry, type LayerEntry, type TestImage, type TestRegistry } from '../../libs/runtime-core/test/integration/support/registry';
