import { Command, Option } from 'commander';
import { DeviceSummary, Subjects } from '@nco/events';
import { positiveInt } from '../args';
import { CliContext, withConnection } from '../context';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { formatAgo } from '../output/time';
import { ask } from '../requests';

export const DEVICES_HEAD = ['MAC', 'FINGERPRINT', 'STATE', 'HOST ID', 'ENROLLED BY', 'SINCE'];

export function deviceRows(devices: DeviceSummary[], now: Date): string[][] {
  return devices.map((d) => [
    d.mac,
    d.fingerprint,
    d.state,
    d.hostId === null ? '-' : String(d.hostId),
    d.enrolledBy ?? '-',
    formatAgo(d.revokedAt ?? d.approvedAt ?? d.createdAt, now),
  ]);
}

/** `nco devices list|approve|revoke`: device identities (docs/security.md), kept by the orchestrator. */
export function devicesCommand(ctx: CliContext): Command {
  const devices = new Command('devices').description('device identities: list them, approve a pending device, revoke one (docs/security.md)');

  devices
    .command('list')
    .description('list enrolled devices')
    .addOption(new Option('--state <state>', 'only devices in this state').choices(['pending', 'approved', 'revoked']))
    .option('--limit <n>', 'at most this many devices (default 1000)', positiveInt(10_000))
    .option('--json', 'print the devices as a JSON array')
    .action(async (o: { state?: 'pending' | 'approved' | 'revoked'; limit?: number; json?: boolean }, cmd: Command) => {
      const body = { ...(o.state ? { state: o.state } : {}), limit: o.limit ?? 1000 };
      const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.devicesList, undefined, body, 'the orchestrator'));
      if (o.json) return ctx.output.out(toJson(reply.devices));
      if (!reply.devices.length) return ctx.output.err('no devices match\n');
      ctx.output.out(renderTable(DEVICES_HEAD, deviceRows(reply.devices, ctx.now())));
      if (reply.total > reply.devices.length) ctx.output.err(`showing ${reply.devices.length} of ${reply.total} devices (--limit to see more)\n`);
    });

  for (const [verb, contract, says] of [
    ['approve', Subjects.cmd.devicesApprove, 'lets a pending device check in (its next attempt succeeds)'],
    ['revoke', Subjects.cmd.devicesRevoke, 'refuses the device\'s check-ins, reports and answers from now on, and cuts its NATS access (NATS_AUTH_DIR)'],
  ] as const) {
    devices
      .command(`${verb} <device>`)
      .description(`${verb} a device by MAC or fingerprint: ${says}`)
      .option('--json', 'print the device as JSON')
      .action(async (device: string, o: { json?: boolean }, cmd: Command) => {
        const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, contract, undefined, { device }, 'the orchestrator'));
        if (o.json) return ctx.output.out(toJson(reply.device));
        ctx.output.out(`device ${reply.device.fingerprint} (${reply.device.mac}) is ${reply.device.state}\n`);
      });
  }
  return devices;
}
