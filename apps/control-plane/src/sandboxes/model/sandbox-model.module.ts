import { Module } from '@nestjs/common';
import { ManagedSandboxChanges } from './managed-changes';
import { SandboxesRepository } from './sandboxes.repository';

/** The sandbox aggregate's storage, for every feature that changes sandbox rows, and the signal that managed ones changed. */
@Module({ providers: [SandboxesRepository, ManagedSandboxChanges], exports: [SandboxesRepository, ManagedSandboxChanges] })
export class SandboxModelModule {}
