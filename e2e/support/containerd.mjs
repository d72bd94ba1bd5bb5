// A containerd of the test's own with Moat's runtime (tools/containerd/containerd.mjs).
export { MOAT_RUNTIME, startContainerd, writeCniNetwork } from '../../tools/containerd/containerd.mjs';
