// A containerd of the test's own with Moat's runtime (tools/containerd/containerd.mjs).
export { MOAT_RUNTIME, startContainerd } from '../../tools/containerd/containerd.mjs';
