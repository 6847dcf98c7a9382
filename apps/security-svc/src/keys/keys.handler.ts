import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { KeysService } from './keys.service';

const toWire = (keys: Array<{ keyId: string; key: Buffer }>) => ({ keys: keys.map((k) => ({ keyId: k.keyId, keyBase64: k.key.toString('base64') })) });

@Injectable()
export class KeysHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly keys: KeysService,
  ) {}

  onApplicationBootstrap(): void {
    const bus = this.nats.bus;
    const queue = QueueGroups.security;
    bus.serve(Subjects.svc.keysIssue, async ({ env }) => toWire(await this.keys.issue(env.body.count)), { queue });
    bus.serve(Subjects.svc.keysGet, async ({ env }) => toWire(await this.keys.get(env.body.keyIds)), { queue });
    bus.serve(Subjects.cmd.keysRewrap, async () => ({ rewrapped: await this.keys.rewrapAll(), kekId: this.keys.kekId }), { queue });
  }
}
