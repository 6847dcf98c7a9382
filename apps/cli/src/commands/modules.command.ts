import { Command } from 'commander';
import { Subjects } from '@nco/events';
import { parseHostId } from '../args';
import { CliContext, withConnection } from '../context';
import { Output } from '../output/io';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { formatAgo, formatSeconds } from '../output/time';
import { ask } from '../requests';

type HostModules = Awaited<ReturnType<typeof fetchHostModules>>;

export function fetchHostModules(ctx: CliContext, cmd: Command, hostId: number) {
  return withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.hostModules, undefined, { hostId }, 'the orchestrator'));
}

/** The modules of one host as tables: deployments, modules the NCO never built, pending work. */
export function printHostModules(output: Output, m: HostModules, now: Date): void {
  if (m.deployments.length === 0) output.out(`host ${m.hostId} has no modules\n`);
  else {
    output.out(
      renderTable(
        ['MODULE ID', 'MODULE', 'STATE', 'ACTIVE', 'PRIORITY', 'DEPRECATED', 'SOCKETS', 'LAST REPORT', 'SECURITY CHECK', 'PROBLEM'],
        m.deployments.map((d) => [
          d.moduleId,
          d.moduleName,
          d.state,
          d.activeMode ? 'on' : 'off',
          d.priority,
          d.deprecated ? 'yes' : 'no',
          d.socketCount,
          formatAgo(d.reportedAt, now),
          formatAgo(d.securityCheckedAt, now) + (d.securityWindowS === null ? '' : ` (every ${formatSeconds(d.securityWindowS)})`),
          d.hostErrorAt ? `not reported by the device since ${formatAgo(d.hostErrorAt, now)}` : (d.failureReason ?? '-'),
        ]),
      ),
    );
  }
  if (m.unknown.length) {
    output.out(`\nmodules the device runs that the NCO never built:\n`);
    output.out(renderTable(['MODULE ID', 'FIRST SEEN', 'LAST SEEN'], m.unknown.map((u) => [u.moduleId, formatAgo(u.firstSeenAt, now), formatAgo(u.lastSeenAt, now)])));
  }
  if (m.pending.length) {
    output.out(`\nwork on its way to the device:\n`);
    output.out(renderTable(['KIND', 'MODULE ID', 'STATE', 'ATTEMPTS', 'LAST ERROR'], m.pending.map((p) => [p.kind, p.moduleId ?? '-', p.state, p.attempts, p.lastError ?? '-'])));
  }
}

export function modulesCommand(ctx: CliContext): Command {
  return new Command('modules')
    .description('the modules of one host: state, active mode, priority, sockets, problems')
    .argument('<host>', 'host id', parseHostId)
    .option('--json', 'print the answer as JSON')
    .action(async (hostId: number, o: { json?: boolean }, cmd: Command) => {
      const reply = await fetchHostModules(ctx, cmd, hostId);
      if (o.json) return ctx.output.out(toJson(reply));
      printHostModules(ctx.output, reply, ctx.now());
    });
}
