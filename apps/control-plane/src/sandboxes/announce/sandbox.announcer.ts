import { Injectable } from '@nestjs/common';
import type { ContainerdSandbox } from '@moat/proto';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { chunks, IN_LIST_CHUNK } from '../../common/chunks';
import { yieldToEventLoop } from '../../common/yield';
import { UiChannel } from '../../dashboard/ui.channel';
import { SandboxDto } from '../dto/sandbox.dto';
import { SandboxEntity } from '../model/sandbox.entity';

/** Shows sandboxes' changes on dashboards, whoever made them. */
@Injectable()
export class SandboxAnnouncer {
  constructor(
    @InjectRepository(SandboxEntity) private readonly sandboxes: Repository<SandboxEntity>,
    private readonly ui: UiChannel,
  ) {}

  /** The sandbox as the API shows it. */
  updated(sandbox: SandboxEntity): void {
    if (this.ui.watched) this.ui.toTenant(sandbox.tenantId, 'sandbox:updated', SandboxDto.from(sandbox));
  }

  /** Sandbox rows as the API shows them, read in `IN` lists, to announce changes made in bulk. */
  async updatedMany(ids: readonly string[]): Promise<void> {
    if (!this.ui.watched) return;
    for (const chunk of chunks(ids, IN_LIST_CHUNK)) {
      (await this.sandboxes.findBy({ id: In(chunk) })).forEach((sandbox) => this.updated(sandbox));
      await yieldToEventLoop();
    }
  }

  /** A node's containerd sandboxes as its new report lists them (admins alone see them): new or changed ones, and those it no longer lists. */
  containerdChanged(nodeId: string, before: readonly ContainerdSandbox[], after: readonly ContainerdSandbox[]): void {
    if (!this.ui.watched) return;
    const listed = new Set(after.map((s) => s.id));
    for (const gone of before) if (!listed.has(gone.id)) this.ui.toAdmins('sandbox:deleted', { id: gone.id });
    const known = new Map(before.map((s) => [s.id, JSON.stringify(s)]));
    for (const s of after) {
      if (known.get(s.id) !== JSON.stringify(s)) this.ui.toAdmins('sandbox:updated', SandboxDto.fromContainerd({ ...s, nodeId }));
    }
  }

  deleted({ id, tenantId }: Pick<SandboxEntity, 'id' | 'tenantId'>): void {
    this.ui.toTenant(tenantId, 'sandbox:deleted', { id });
  }
}
