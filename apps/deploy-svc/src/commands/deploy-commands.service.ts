import { Inject, Injectable } from '@nestjs/common';
import { DeviceWorkRepository } from '@nco/cib';
import { PriorityBody, ToggleBody } from '@nco/events';
import { ROOT_LOGGER } from '@nco/runtime';
import { Logger } from 'pino';
import { Accepted, checkPriority, CommandIntakeService, describeModule } from '@nco/delivery';

/** `nco toggle` and `nco priority`: validated, written as desired state, carried by the dispatcher. */
@Injectable()
export class DeployCommandsService {
  private readonly log: Logger;

  constructor(
    private readonly intake: CommandIntakeService,
    private readonly work: DeviceWorkRepository,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'commands' });
  }

  async toggle(body: ToggleBody): Promise<Accepted> {
    const selected = await this.intake.select(body);
    const accepted = await this.intake.accept('toggle', body, selected, { mode: body.mode });
    this.log.info({ ...accepted, module: describeModule(body), mode: body.mode }, 'toggle accepted');
    return accepted;
  }

  async priority(body: PriorityBody): Promise<Accepted> {
    const selected = await this.intake.select(body);
    await checkPriority(this.work, selected, body.priority, body);
    const accepted = await this.intake.accept('priority', body, selected, { priority: body.priority });
    this.log.info({ ...accepted, module: describeModule(body), priority: body.priority }, 'priority accepted');
    return accepted;
  }
}
