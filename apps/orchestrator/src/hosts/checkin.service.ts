import { Inject, Injectable } from '@nestjs/common';
import { AuditEntry, AuditRepository, CheckinInput, CheckinRow, HostRepository } from '@nco/cib';
import { CheckinBody, CheckinReply, loadReportKeys, NcoError, ReportKey, Subjects } from '@nco/events';
import { MicroBatcher, NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { OrchestratorConfig } from '../settings';
import { DeviceEnrollment } from './device-enrollment';
import { DeviceNatsAccess } from './device-nats-access';
import { diffHost, proposeHostId } from './host-id.policy';

type Outcome = CheckinReply | NcoError;

/**
 * Check-in: registers unknown MACs (host id by the configured mode), records release and
 * address changes, and tells the device its host id and report interval. Check-ins arriving
 * together are written in one statement (a fleet checking in is one batch, not N round trips).
 */
@Injectable()
export class CheckinService {
  private readonly log: Logger;
  private readonly batcher: MicroBatcher<CheckinBody, Outcome>;
  /** Handed to devices with an identity so they MAC their reports (docs/security.md, "Reports"). */
  private readonly reportKey?: ReportKey;

  constructor(
    private readonly hosts: HostRepository,
    private readonly audit: AuditRepository,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: OrchestratorConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    private readonly enrollment: DeviceEnrollment,
    private readonly natsAccess: DeviceNatsAccess,
  ) {
    this.log = root.child({ component: 'checkin' });
    this.reportKey = loadReportKeys(config)[0];
    this.batcher = new MicroBatcher({
      maxSize: config.CHECKIN_BATCH_SIZE,
      maxWaitMs: config.CHECKIN_BATCH_WAIT_MS,
      handle: (items) => this.checkinBatch(items),
    });
  }

  async checkin(body: CheckinBody): Promise<CheckinReply> {
    const outcome = await this.batcher.add(body);
    if (outcome instanceof NcoError) throw outcome;
    return outcome;
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async checkinBatch(items: CheckinBody[]): Promise<Outcome[]> {
    const byMac = new Map<string, CheckinBody>();
    for (const item of items) byMac.set(item.mac, item); // the latest check-in of a MAC wins
    // Device identity first: a refused device gets no host row, no event, no host id.
    const results = new Map<string, Outcome>(await this.enrollment.admit([...byMac.values()]));
    let todo = [...byMac.values()].filter((b) => !results.has(b.mac));
    for (let attempt = 0; todo.length && attempt < 5; attempt++) {
      const inputs = this.toInputs(todo, results);
      const rows = await this.hosts.checkin(inputs);
      await this.enrollment.bind(rows.filter((r) => byMac.get(r.mac)?.identity).map((r) => ({ mac: r.mac, hostId: r.hostId })));
      await this.announce(rows, byMac);
      for (const row of rows) {
        const body = byMac.get(row.mac)!;
        // Admitted above: approved and not revoked, so it may have its own NATS user.
        const natsJwt = body.natsCreds && body.identity ? await this.natsAccess.issue(row.hostId, body.identity.signKey) : undefined;
        const reportKey = body.identity && this.reportKey ? { kid: this.reportKey.kid, key: this.reportKey.publicKey } : undefined;
        results.set(row.mac, { hostId: row.hostId, isNew: row.inserted, reportIntervalMs: this.config.REPORT_INTERVAL_MS, ...(natsJwt ? { natsJwt } : {}), ...(reportKey ? { reportKey } : {}) });
      }
      // A new MAC whose proposed id was taken: a random id is drawn again, an IPv4 octet cannot be.
      todo = inputs.filter((i) => !results.has(i.mac)).map((i) => byMac.get(i.mac)!);
      if (this.config.HOST_ID_MODE !== 'random') {
        for (const body of todo) {
          results.set(body.mac, new NcoError('conflict', `host id from ${body.ip} is already used by another MAC; use HOST_ID_MODE=sequential or random`));
        }
        todo = [];
      }
    }
    for (const body of todo) results.set(body.mac, new NcoError('unavailable', 'could not find a free random host id, retry'));
    return items.map((i) => results.get(i.mac)!);
  }

  private toInputs(bodies: CheckinBody[], results: Map<string, Outcome>): CheckinInput[] {
    const inputs: CheckinInput[] = [];
    const proposed = new Set<number>();
    for (const b of bodies) {
      try {
        let id = proposeHostId(this.config.HOST_ID_MODE, b.ip);
        if (id !== null && proposed.has(id)) {
          if (this.config.HOST_ID_MODE !== 'random') throw new NcoError('conflict', `host id ${id} is claimed by two MACs checking in at once`);
          id = proposeHostId('random', b.ip);
        }
        if (id !== null) proposed.add(id);
        inputs.push({ mac: b.mac, release: b.release, ip: b.ip ?? null, port: b.port ?? null, middleboxType: b.middleboxType ?? null, proposedId: id });
      } catch (e) {
        results.set(b.mac, e as NcoError);
      }
    }
    return inputs;
  }

  /** Events and audit entries for what the batch changed: new hosts, changed ones, returning ones. */
  private async announce(rows: CheckinRow[], byMac: Map<string, CheckinBody>): Promise<void> {
    const bus = this.nats.bus;
    const audit: AuditEntry[] = [];
    for (const row of rows) {
      const body = byMac.get(row.mac)!;
      const log = this.log.child({ hostId: row.hostId });
      if (row.inserted) {
        log.info({ mac: row.mac, release: body.release, middleboxType: body.middleboxType }, 'host registered');
        bus.publish(Subjects.evt.hostRegistered, undefined, { hostId: row.hostId, mac: row.mac, release: body.release, middleboxType: body.middleboxType ?? null }, { hostId: row.hostId });
        audit.push({ actor: 'dca', action: 'host.registered', hostId: row.hostId, details: { mac: row.mac, release: body.release, ip: body.ip ?? null } });
        continue;
      }
      const prev = row.previous!;
      const changes = diffHost(
        { release: prev.release, ip: prev.ip, port: prev.port, middleboxType: prev.middleboxType },
        { release: body.release, ip: body.ip, port: body.port, middleboxType: body.middleboxType },
      );
      if (Object.keys(changes).length) {
        log.info({ changes }, 'host changed at check-in');
        bus.publish(Subjects.evt.hostChanged, undefined, { hostId: row.hostId, changes }, { hostId: row.hostId });
        audit.push({ actor: 'dca', action: 'host.changed', hostId: row.hostId, details: { changes } });
      }
      if (!prev.online) {
        bus.publish(Subjects.evt.hostOnline, undefined, { hostId: row.hostId, online: true, lastSeenAt: new Date().toISOString() }, { hostId: row.hostId });
      }
    }
    await this.audit.record(audit);
  }
}
