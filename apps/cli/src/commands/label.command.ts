import { Command, InvalidArgumentError } from 'commander';
import { Subjects } from '@nco/events';
import { collectHostIds, collectLabel, LABEL_KEY, labelSelector } from '../args';
import { CliContext, withConnection } from '../context';
import { usageError } from '../errors';
import { toJson } from '../output/json';
import { ask } from '../requests';

const collectKey = (value: string, previous: string[] = []) => {
  if (!LABEL_KEY.test(value)) throw new InvalidArgumentError('expected a label key like rack.');
  return [...previous, value];
};

export function labelCommand(ctx: CliContext): Command {
  return new Command('label')
    .description('set or remove labels on hosts (select hosts by label in deploy, toggle, ...)')
    .argument('<hosts>', 'host ids, comma-separated', (v) => collectHostIds(v))
    .argument('[labels...]', 'key=value to set')
    .option('--remove <key>', 'remove this label (repeat)', collectKey)
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', '\nExamples:\n  nco label 3,4 rack=a1 tier=edge\n  nco label 3 --remove tier')
    .action(async (hostIds: number[], labels: string[], o: { remove?: string[]; json?: boolean }, cmd: Command) => {
      let pairs: Array<[string, string]> = [];
      try {
        for (const l of labels) pairs = collectLabel(l, pairs);
      } catch (e) {
        throw usageError(`label "${labels.find((l) => !l.includes('=')) ?? labels[labels.length - 1]}": ${(e as Error).message}`);
      }
      const set = labelSelector(pairs) ?? {};
      const remove = o.remove ?? [];
      if (Object.keys(set).length + remove.length === 0) throw usageError('give labels to set (key=value) or --remove <key>');
      const clash = remove.find((k) => k in set);
      if (clash) throw usageError(`${clash} is both set and removed`);
      const reply = await withConnection(ctx, cmd, (conn, settings) =>
        ask(conn, settings, Subjects.cmd.hostsLabel, undefined, { hostIds, set, remove }, 'the orchestrator'),
      );
      if (o.json) return ctx.output.out(toJson(reply));
      ctx.output.out(`labelled ${reply.updated} of ${hostIds.length} host(s)\n`);
      if (reply.updated < hostIds.length) ctx.output.err(`${hostIds.length - reply.updated} host id(s) do not exist\n`);
    });
}
