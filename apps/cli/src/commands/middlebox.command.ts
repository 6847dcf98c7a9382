import { Command, InvalidArgumentError } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { INVERSE_MAX_BYTES, InverseFileName, MiddleboxEntry, MiddleboxType, ModuleName, Subjects } from '@nco/events';
import { z } from 'zod';
import { CliContext, withConnection } from '../context';
import { CliError } from '../errors';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { ask } from '../requests';

/** A commander argument parser from a zod schema: the schema's message is the usage error. */
const parsed = (schema: z.ZodType<string>) => (value: string) => {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidArgumentError(`${r.error.issues[0]?.message ?? 'invalid'}.`);
  return r.data;
};

/** What a middlebox holds or is about to, one `module:file (state)` per inverse module; removed ones are history. */
function holdings(m: MiddleboxEntry): string {
  const live = m.inverse.filter((i) => i.state !== 'removed');
  return live.map((i) => `${i.module}:${i.file} (${i.state}${i.lastError ? `: ${i.lastError}` : ''})`).join(', ') || '-';
}

/** `nco middleboxes`: each middlebox and the inverse modules it holds (deploy-svc). */
export function middleboxesCommand(ctx: CliContext): Command {
  return new Command('middleboxes')
    .description('middleboxes and the inverse modules each holds (installed, required, removing)')
    .option('--type <type>', 'only middleboxes of this type', parsed(MiddleboxType))
    .option('--json', 'print middleboxes and linked inverse modules as JSON')
    .action(async (o: { type?: string; json?: boolean }, cmd: Command) => {
      const reply = await withConnection(ctx, cmd, (conn, settings) =>
        ask(conn, settings, Subjects.cmd.middleboxesList, undefined, o.type ? { type: o.type } : {}, 'deploy-svc'),
      );
      if (o.json) return ctx.output.out(toJson(reply));
      ctx.output.out(
        renderTable(
          ['HOST ID', 'TYPE', 'MAC', 'ONLINE', 'INVERSE MODULES'],
          reply.middleboxes.map((m) => [String(m.hostId), m.type, m.mac, m.online ? 'yes' : 'no', holdings(m)]),
        ),
      );
      if (reply.inverseModules.length) {
        ctx.output.out('\nlinked inverse modules:\n');
        ctx.output.out(
          renderTable(
            ['MODULE', 'TYPE', 'FILE', 'SIZE', 'SHA256', 'SOURCE', 'NEEDED'],
            reply.inverseModules.map((i) => [i.module, i.type, i.file, String(i.size), i.sha256.slice(0, 12), i.source, i.required ? 'yes' : 'no']),
          ),
        );
      }
    });
}

/** `nco inverse link|unlink`: which file a middlebox type needs to understand a module's flows. */
export function inverseCommand(ctx: CliContext): Command {
  const inverse = new Command('inverse').description('link or unlink the inverse module of a customization module for a middlebox type (deploy-svc)');
  inverse
    .command('link')
    .description('link (or replace) the file middleboxes of <type> need to understand <module>; they get it while <module> is deployed anywhere')
    .argument('<module>', 'a catalog module (nco catalog)', parsed(ModuleName))
    .argument('<type>', 'a middlebox type, like wireshark', parsed(MiddleboxType))
    .argument('<file>', 'the inverse module; the middlebox stores it under the same file name', (v) => (parsed(InverseFileName)(basename(v)), v))
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', `\nExample:\n  nco inverse link dns-tag wireshark modules/dns-tag/inverse/wireshark/l45_dns_tag.lua\nAt most ${INVERSE_MAX_BYTES} bytes.`)
    .action(async (module: string, type: string, file: string, o: { json?: boolean }, cmd: Command) => {
      const body = { module, type, file: basename(file) };
      let size: number;
      try {
        size = statSync(file).size;
      } catch (e) {
        throw new CliError(`cannot read ${file}: ${(e as Error).message}`);
      }
      if (size === 0) throw new CliError(`${file} is empty`);
      if (size > INVERSE_MAX_BYTES) throw new CliError(`${file} is ${size} bytes; an inverse module is at most ${INVERSE_MAX_BYTES} bytes`);
      const contentBase64 = readFileSync(file).toString('base64');
      const reply = await withConnection(ctx, cmd, (conn, settings) =>
        ask(conn, settings, Subjects.cmd.inverseLink, undefined, { ...body, contentBase64 }, 'deploy-svc'),
      );
      if (o.json) return ctx.output.out(toJson(reply));
      const what = reply.created ? 'linked' : reply.changed ? 'replaced' : 'unchanged';
      ctx.output.out(`${reply.module} → ${reply.type}: ${reply.file} ${what} (${reply.size} bytes, sha256 ${reply.sha256.slice(0, 12)})\n`);
    });
  inverse
    .command('unlink')
    .description('unlink it: middleboxes of <type> that hold it have it removed')
    .argument('<module>', 'a catalog module', parsed(ModuleName))
    .argument('<type>', 'a middlebox type', parsed(MiddleboxType))
    .option('--json', 'print the answer as JSON')
    .action(async (module: string, type: string, o: { json?: boolean }, cmd: Command) => {
      const body = { module, type };
      const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.inverseUnlink, undefined, body, 'deploy-svc'));
      if (o.json) return ctx.output.out(toJson(reply));
      ctx.output.out(`${reply.module} → ${reply.type}: unlinked, removing it from ${reply.removing} middlebox(es)\n`);
    });
  // Sub-commands take the CLI's output and report usage errors to runCli (exit 2) instead of exiting.
  for (const sub of inverse.commands) {
    sub.configureOutput({ writeOut: (t) => ctx.output.out(t), writeErr: (t) => ctx.output.err(t) }).exitOverride().showHelpAfterError(`(run nco inverse ${sub.name()} --help for usage)`);
  }
  return inverse;
}
