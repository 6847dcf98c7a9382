import { Command } from 'commander';
import { Subjects } from '@nco/events';
import { parseDurationArg, positiveInt } from '../args';
import { CliContext, withConnection } from '../context';
import { CliError, usageError } from '../errors';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { formatAgo } from '../output/time';
import { OperationFollower } from '../operations/follow';
import { progressViewFor } from '../operations/progress-view';
import { failUnlessSucceeded, printOperation } from '../operations/submit';
import { ask } from '../requests';
import { hostRows, HOSTS_HEAD } from './hosts.command';
import { printHostModules } from './modules.command';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface StatusOptions {
  json?: boolean;
  follow?: boolean;
  waitTimeout: number;
}

export function statusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description('the state of an operation (by its id) or of a host (by its host id)')
    .argument('<id>', 'an operation id (uuid) or a host id (number)')
    .option('-f, --follow', 'operations: follow the progress until the operation finishes')
    .option('--wait-timeout <duration>', 'with --follow: give up after this long', parseDurationArg, 600_000)
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExamples:\n  nco status 3\n  nco status 0f6c2a4e-… --follow')
    .action(async (id: string, o: StatusOptions, cmd: Command) => {
      if (UUID.test(id)) return operationStatus(ctx, cmd, id.toLowerCase(), o);
      if (/^\d+$/.test(id) && Number(id) >= 1 && Number.isSafeInteger(Number(id))) return hostStatus(ctx, cmd, Number(id), o);
      throw usageError(`"${id}" is neither an operation id (uuid) nor a host id`);
    });
}

async function operationStatus(ctx: CliContext, cmd: Command, operationId: string, o: StatusOptions): Promise<void> {
  await withConnection(ctx, cmd, async (conn, settings) => {
    let op = await ask(conn, settings, Subjects.cmd.operationGet, undefined, { operationId }, 'the orchestrator');
    if (o.follow) {
      const follower = new OperationFollower(conn, settings);
      try {
        op = await follower.until(operationId, progressViewFor(ctx.output, Boolean(o.json)), o.waitTimeout);
      } finally {
        follower.stop();
      }
    }
    printOperation(ctx, op, Boolean(o.json));
    if (o.follow) failUnlessSucceeded(op);
  });
}

async function hostStatus(ctx: CliContext, cmd: Command, hostId: number, o: StatusOptions): Promise<void> {
  const [hosts, modules] = await withConnection(ctx, cmd, (conn, settings) =>
    Promise.all([
      ask(conn, settings, Subjects.cmd.hostsList, undefined, { hostIds: [hostId], limit: 1 }, 'the orchestrator'),
      ask(conn, settings, Subjects.cmd.hostModules, undefined, { hostId }, 'the orchestrator'),
    ]),
  );
  const host = hosts.hosts[0];
  if (!host) throw new CliError(`not_found: no host ${hostId}`);
  if (o.json) return ctx.output.out(toJson({ host, ...modules }));
  ctx.output.out(renderTable(HOSTS_HEAD, hostRows([host], ctx.now())));
  ctx.output.out('\n');
  printHostModules(ctx.output, modules, ctx.now());
}

export function operationsCommand(ctx: CliContext): Command {
  return new Command('operations')
    .description('recent operations, newest first')
    .option('--limit <n>', 'at most this many', positiveInt(1000), 20)
    .option('--json', 'print them as JSON')
    .action(async (o: { limit: number; json?: boolean }, cmd: Command) => {
      const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.operationsList, undefined, { limit: o.limit }, 'the orchestrator'));
      if (o.json) return ctx.output.out(toJson(reply.operations));
      if (reply.operations.length === 0) return ctx.output.err('no operations yet\n');
      ctx.output.out(
        renderTable(
          ['OPERATION', 'KIND', 'STATUS', 'HOSTS', 'OK', 'FAILED', 'PENDING', 'STARTED'],
          reply.operations.map((op) => [op.id, op.kind, op.status, op.targetCount, op.succeeded, op.failed, op.pending, formatAgo(op.createdAt, ctx.now())]),
        ),
      );
    });
}
