/**
 * `@moat/test-support`: what every project's Jest tests share and Jest does not offer itself.
 * Used by unit, integration, fuzz and e2e tests; never by production code.
 */
export { eventually, type EventuallyOptions } from './eventually';
export { describeIf, itIf } from './conditional-tests';
export { expectGoldenFile } from './golden-file';
export { testCertificates, type TestCertificates } from './tls-certificates';
export { startControlPlane, type ControlPlaneProcess } from './control-plane.process';
export { packagesReached } from './packages-reached';
export { scratchDirs, type ScratchDirs } from './scratch-dir';
export { processesMentioning } from './processes';
