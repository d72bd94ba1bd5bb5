import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Between, FindOptionsWhere, LessThan, LessThanOrEqual, MoreThanOrEqual, Repository } from 'typeorm';
import type { Principal } from '../auth/principal';
import { UiChannel } from '../dashboard/ui.channel';
import { Transactions } from '../database/transactions.service';
import { AuditEntryDto, AuditPageDto } from './audit-entry.dto';
import { ACTOR_KINDS, AuditEntryEntity } from './audit-entry.entity';
import { AuditQuery } from './audit.query';

/** Entries are written in batches at most this far apart (or once this many are waiting). */
const FLUSH_INTERVAL_MS = 100;
const FLUSH_SIZE = 500;
const DEFAULT_PAGE = 100;

export type NewAuditEntry = Omit<AuditEntryEntity, 'id' | 'at'> & { at?: Date };

/**
 * `entry` as its columns take it. Its texts come from requests (a path parameter, an error
 * message quoting a body), and a value PostgreSQL refuses would fail the whole batch it is
 * written with: a NUL becomes U+FFFD, and a tenant id longer than an id (a 36-character
 * UUID) names no tenant.
 */
function storable(entry: NewAuditEntry): NewAuditEntry {
  const text = (value: string | null): string | null => value?.replace(/\0/g, '\ufffd') ?? null;
  const tenantId = entry.tenantId !== null && entry.tenantId.length <= 36 ? text(entry.tenantId) : null;
  return { ...entry, tenantId, targetId: text(entry.targetId), message: text(entry.message) };
}

/**
 * The append-only audit log. Entries are buffered briefly and written in one transaction per
 * batch, so auditing costs a mutating request no round trip of its own; reads flush first,
 * so a reader always sees what was recorded before it asked.
 */
@Injectable()
export class AuditService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(AuditService.name);
  private buffer: AuditEntryEntity[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    @InjectRepository(AuditEntryEntity) private readonly entries: Repository<AuditEntryEntity>,
    private readonly ui: UiChannel,
    private readonly transactions: Transactions,
  ) {}

  record(entry: NewAuditEntry): void {
    this.buffer.push(this.entries.create({ ...storable(entry), at: entry.at ?? new Date() }));
    if (this.buffer.length >= FLUSH_SIZE) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Writes everything recorded so far; resolves once it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  /** Before the database connection closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  async list(principal: Principal, query: AuditQuery): Promise<AuditPageDto> {
    await this.flush();
    const where: FindOptionsWhere<AuditEntryEntity> = {};
    if (principal.kind === 'tenant') where.tenantId = principal.tenantId;
    if (query.actor) {
      if ((ACTOR_KINDS as readonly string[]).includes(query.actor)) where.actorKind = query.actor as AuditEntryEntity['actorKind'];
      else where.actorId = query.actor;
    }
    if (query.action) where.action = query.action;
    if (query.targetType) where.targetType = query.targetType;
    if (query.targetId) where.targetId = query.targetId;
    if (query.since && query.until) where.at = Between(query.since, query.until);
    else if (query.since) where.at = MoreThanOrEqual(query.since);
    else if (query.until) where.at = LessThanOrEqual(query.until);
    if (query.before) where.id = LessThan(query.before);
    const limit = query.limit ?? DEFAULT_PAGE;
    const rows = await this.entries.find({ where, order: { id: 'DESC' }, take: limit });
    return {
      items: rows.map((row) => AuditEntryDto.from(row)),
      nextBefore: rows.length === limit ? String(rows[rows.length - 1].id) : null,
    };
  }

  private async write(batch: AuditEntryEntity[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      // One transaction for the batch; save assigns each entry its id.
      await this.transactions.run((manager) => manager.save(AuditEntryEntity, batch, { chunk: 100 }));
    } catch (err) {
      this.logger.error({ err, entries: batch.length }, 'writing audit entries failed');
      return;
    }
    for (const entry of batch) {
      const view = AuditEntryDto.from(entry);
      if (view.tenantId) this.ui.toTenant(view.tenantId, 'audit:appended', view);
      else this.ui.toAdmins('audit:appended', view);
    }
  }
}
