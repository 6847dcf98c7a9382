import { Inject, Injectable } from '@nestjs/common';
import { DeprecateBody, RevokeBody } from '@nco/events';
import { ROOT_LOGGER } from '@nco/runtime';
import { Logger } from 'pino';
import { Accepted, CommandIntakeService, describeModule } from '@nco/delivery';

/**
 * `nco deprecate` (no new socket picks the module up; sockets using it keep it) and `nco revoke`
 * (the device unloads and deletes it; the CIB records the revocation with the operator's reason).
 */
@Injectable()
export class RevokeCommandsService {
  private readonly log: Logger;

  constructor(
    private readonly intake: CommandIntakeService,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'commands' });
  }

  async deprecate(body: DeprecateBody): Promise<Accepted> {
    const selected = await this.intake.select(body);
    const accepted = await this.intake.accept('deprecate', body, selected, {});
    this.log.info({ ...accepted, module: describeModule(body) }, 'deprecate accepted');
    return accepted;
  }

  async revoke(body: RevokeBody): Promise<Accepted> {
    const selected = await this.intake.select(body);
    const reason = body.reason ?? 'revoked by an operator';
    const accepted = await this.intake.accept('revoke', body, selected, { reason });
    this.log.info({ ...accepted, module: describeModule(body), reason }, 'revoke accepted');
    return accepted;
  }
}
