import { Module } from '@nestjs/common';
import { SandboxesRepository } from './sandboxes.repository';

/** The sandbox aggregate's storage, for every feature that changes sandbox rows. */
@Module({ providers: [SandboxesRepository], exports: [SandboxesRepository] })
export class SandboxModelModule {}
