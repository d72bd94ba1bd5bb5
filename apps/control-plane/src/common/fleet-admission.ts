import { Global, Injectable, Module } from '@nestjs/common';
import { LoopGate } from './loop-gate';

/**
 * The gate a node agent's arrival passes, its join and its connection: thousands of hosts
 * booting at once join as fast as the event loop lets them, and the API stays answered.
 */
@Injectable()
export class FleetAdmission extends LoopGate {
  /** The gate's defaults; nothing for Nest to inject. */
  constructor() {
    super();
  }
}

/** Provides the one FleetAdmission of this process. */
@Global()
@Module({ providers: [FleetAdmission], exports: [FleetAdmission] })
export class FleetAdmissionModule {}
