import { Command, Option } from 'commander';
import { BodyOf, OperationDetail, ParamsOf, RequestContract } from '@nco/events';
import { parseDurationArg } from '../args';
import { CliContext, withConnection } from '../context';
import { CliError } from '../errors';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { ask } from '../requests';
import { OperationFollower } from './follow';
import { progressViewFor } from './progress-view';

export interface WaitOptions {
  wait?: boolean;
  waitTimeout: number;
  json?: boolean;
  quiet?: boolean;
}

/** --no-wait, --wait-timeout, --quiet and --json, shared by every command that starts an operation. */
export function withWaitOptions(cmd: Command, defaultTimeout = '10m'): Command {
  return cmd
    .option('--no-wait', 'print the operation id and return at once instead of following it')
    .addOption(new Option('--wait-timeout <duration>', 'give up following after this long (the operation goes on)').argParser(parseDurationArg).default(parseDurationArg(defaultTimeout), defaultTimeout))
    .option('-q, --quiet', 'no progress on stderr')
    .option('--json', 'print the finished operation (or, with --no-wait, the acceptance) as JSON');
}

/**
 * Sends an operator command that starts an operation, then (unless --no-wait) follows its
 * progress events to the end: a bar on a terminal, lines otherwise. Exits non-zero unless every
 * targeted host succeeded, saying how many failed and the first reasons.
 */
export async function submitOperation<C extends RequestContract<any, any, any>>(
  ctx: CliContext,
  cmd: Command,
  contract: C,
  body: BodyOf<C>,
  answeredBy: string,
  o: WaitOptions,
): Promise<void> {
  await withConnection(ctx, cmd, async (conn, settings) => {
    const follower = o.wait === false ? undefined : new OperationFollower(conn, settings);
    try {
      const accepted = (await ask(conn, settings, contract, undefined as ParamsOf<C>, body, answeredBy)) as { operationId: string; targetCount: number; alreadyDone?: number };
      if (accepted.alreadyDone && !o.json && !o.quiet) ctx.output.err(`${accepted.alreadyDone} of ${accepted.targetCount} host(s) already run it: nothing to do there\n`);
      if (!follower) {
        if (o.json) ctx.output.out(toJson(accepted));
        else ctx.output.out(`operation ${accepted.operationId} accepted for ${accepted.targetCount} host(s); follow it with: nco status ${accepted.operationId} --follow\n`);
        return;
      }
      if (!o.json && !o.quiet) ctx.output.err(`operation ${accepted.operationId}: ${accepted.targetCount} host(s)\n`);
      const op = await follower.until(accepted.operationId, progressViewFor(ctx.output, Boolean(o.json || o.quiet)), o.waitTimeout);
      printOperation(ctx, op, Boolean(o.json));
      failUnlessSucceeded(op);
    } finally {
      follower?.stop();
    }
  });
}

export function printOperation(ctx: CliContext, op: OperationDetail, json: boolean): void {
  if (json) return ctx.output.out(toJson(op));
  ctx.output.out(
    `operation ${op.id} (${op.kind}): ${op.status}: ${op.succeeded} succeeded, ${op.failed} failed, ${op.pending} pending of ${op.targetCount} host(s)\n`,
  );
  if (op.error) ctx.output.out(`error: ${op.error}\n`);
  if (op.failures.length) {
    ctx.output.out(renderTable(['HOST', 'MODULE ID', 'STEP', 'REASON'], op.failures.map((f) => [f.hostId ?? '-', f.moduleId ?? '-', f.kind, firstLine(f.reason)])));
  }
}

export function failUnlessSucceeded(op: OperationDetail): void {
  if (op.status === 'succeeded' || op.status === 'running' || op.status === 'pending') return;
  const why = op.failures[0] ? `; host ${op.failures[0].hostId ?? '-'}: ${firstLine(op.failures[0].reason)}` : op.error ? `; ${op.error}` : '';
  throw new CliError(`operation ${op.id} ${op.status}: ${op.failed} of ${op.targetCount} host(s) failed${why}`);
}

const firstLine = (s: string) => {
  const line = s.split('\n')[0];
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
};
