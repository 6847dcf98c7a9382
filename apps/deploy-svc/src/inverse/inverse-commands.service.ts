import { Inject, Injectable } from '@nestjs/common';
import { MiddleboxRepository } from '@nco/cib';
import { INVERSE_MAX_BYTES, InverseLinkBody, MiddleboxesListBody, MiddleboxesListReply, NcoError, ReplyOf, Subjects } from '@nco/events';
import { ROOT_LOGGER } from '@nco/runtime';
import { createHash } from 'node:crypto';
import { Logger } from 'pino';
import { z } from 'zod';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Operator commands about middleboxes and inverse modules: list, link, unlink (validated, then the CIB). */
@Injectable()
export class InverseCommandsService {
  private readonly log: Logger;

  constructor(
    private readonly middleboxes: MiddleboxRepository,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'inverse' });
  }

  async list(body: z.infer<typeof MiddleboxesListBody>): Promise<MiddleboxesListReply> {
    const [boxes, modules] = await Promise.all([this.middleboxes.listMiddleboxes(body.type), this.middleboxes.listInverseModules(body.type)]);
    return {
      middleboxes: boxes.map((b) => ({
        hostId: b.hostId,
        mac: b.mac,
        type: b.type,
        online: b.online,
        lastSeenAt: iso(b.lastSeenAt),
        inverse: b.inverse.map((i) => ({ ...i, requiredAt: iso(i.requiredAt), installedAt: iso(i.installedAt), removedAt: iso(i.removedAt) })),
      })),
      inverseModules: modules.map((m) => ({ ...m, updatedAt: m.updatedAt.toISOString() })),
    };
  }

  /** The file must decode (canonical base64), be non-empty and bounded; the module must be in the catalog. */
  async link(body: InverseLinkBody): Promise<ReplyOf<typeof Subjects.cmd.inverseLink>> {
    const content = Buffer.from(body.contentBase64, 'base64');
    if (content.toString('base64') !== body.contentBase64) throw new NcoError('invalid_request', 'contentBase64 is not valid base64');
    if (content.length === 0) throw new NcoError('invalid_request', `${body.file} is empty`);
    if (content.length > INVERSE_MAX_BYTES) throw new NcoError('invalid_request', `${body.file} is ${content.length} bytes; an inverse module is at most ${INVERSE_MAX_BYTES}`);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const r = await this.middleboxes.link({ module: body.module, type: body.type, file: body.file, content, sha256 });
    if (!r.ok) throw new NcoError(r.code, r.message);
    this.log.info({ module: body.module, type: body.type, file: body.file, sha256, created: r.created, changed: r.changed }, 'inverse module linked');
    return { module: body.module, type: body.type, file: body.file, sha256, size: content.length, created: r.created, changed: r.changed };
  }

  async unlink(body: { module: string; type: string }): Promise<ReplyOf<typeof Subjects.cmd.inverseUnlink>> {
    const r = await this.middleboxes.unlink(body.module, body.type);
    if (!r.found) throw new NcoError('not_found', `${body.module} has no inverse module for ${body.type} (see nco middleboxes)`);
    this.log.info({ module: body.module, type: body.type, removing: r.removing }, 'inverse module unlinked');
    return { module: body.module, type: body.type, removing: r.removing };
  }
}
