import { Command, Option } from 'commander';
import { HostSummary, Subjects } from '@nco/events';
import { collectLabel, labelSelector, positiveInt } from '../args';
import { CliContext, withConnection } from '../context';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { formatAgo } from '../output/time';
import { CliConnection } from '../nats';
import { ask } from '../requests';
import { CliSettings } from '../settings';

interface HostsOptions {
  online?: boolean;
  offline?: boolean;
  label?: Array<[string, string]>;
  limit?: number;
  json?: boolean;
}

export const HOSTS_HEAD = ['HOST ID', 'MAC', 'RELEASE', 'ONLINE', 'LAST REPORT', 'MODULES', 'MIDDLEBOX', 'LABELS'];

/** One table row per host; times relative to `now`. */
export function hostRows(hosts: HostSummary[], now: Date): string[][] {
  return hosts.map((h) => [
    String(h.hostId),
    h.mac,
    h.release,
    h.online ? 'yes' : 'no',
    formatAgo(h.lastReportAt, now),
    String(h.moduleCount),
    h.middleboxType ?? '-',
    Object.entries(h.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-',
  ]);
}

/** Hosts asked for when --limit is not given: a longer table is for --json and a pipe anyway. */
export const DEFAULT_HOSTS_LIMIT = 1_000;

/** The request body for the options given (online/offline/labels/limit). */
export function hostsQuery(o: HostsOptions) {
  return {
    ...(o.online ? { online: true } : o.offline ? { online: false } : {}),
    ...(labelSelector(o.label) ? { labels: labelSelector(o.label) } : {}),
    limit: o.limit ?? DEFAULT_HOSTS_LIMIT,
  };
}

/** Every host the query asks for, page by page (a reply holds one page: one NATS message). */
export async function listHosts(conn: CliConnection, settings: CliSettings, body: ReturnType<typeof hostsQuery>) {
  const hosts: HostSummary[] = [];
  let total = 0;
  let after: number | undefined;
  do {
    const page = await ask(conn, settings, Subjects.cmd.hostsList, undefined, { ...body, limit: body.limit - hosts.length, ...(after !== undefined ? { afterHostId: after } : {}) }, 'the orchestrator');
    hosts.push(...page.hosts);
    total = page.total;
    after = page.nextAfterHostId;
  } while (after !== undefined && hosts.length < body.limit);
  return { hosts, total };
}

export function hostsCommand(ctx: CliContext): Command {
  return new Command('hosts')
    .description('list the hosts the NCO knows (from the orchestrator)')
    .addOption(new Option('--online', 'only hosts that are online').conflicts('offline'))
    .addOption(new Option('--offline', 'only hosts that are offline'))
    .option('-l, --label <key=value>', 'only hosts with this label (repeat for several: all must match)', collectLabel)
    .option('--limit <n>', `at most this many hosts (default ${DEFAULT_HOSTS_LIMIT}; a note on stderr says when there are more)`, positiveInt(100_000))
    .option('--json', 'print the hosts as a JSON array (the reply\'s `hosts`) instead of a table')
    .addHelpText(
      'after',
      `
Examples:
  nco hosts
  nco hosts --offline --label rack=a1
  nco hosts --json | jq '.[] | select(.moduleCount > 0) | .hostId'`,
    )
    .action(async (o: HostsOptions, cmd: Command) => {
      const body = hostsQuery(o);
      const reply = await withConnection(ctx, cmd, (conn, settings) => listHosts(conn, settings, body));
      if (o.json) {
        ctx.output.out(toJson(reply.hosts));
        return;
      }
      if (reply.hosts.length === 0) {
        ctx.output.err('no hosts match\n');
        return;
      }
      ctx.output.out(renderTable(HOSTS_HEAD, hostRows(reply.hosts, ctx.now())));
      if (reply.total > reply.hosts.length) {
        ctx.output.err(`showing ${reply.hosts.length} of ${reply.total} hosts (--limit to see more)\n`);
      }
    });
}
