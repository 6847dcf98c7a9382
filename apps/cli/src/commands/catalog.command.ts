import { Command } from 'commander';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Subjects } from '@nco/events';
import { CliContext, withConnection } from '../context';
import { toJson } from '../output/json';
import { renderTable } from '../output/table';
import { ask } from '../requests';

/** Reads a module directory: module.json plus every other file below it (build outputs skipped). */
export function readModuleDir(dir: string): { metadata: unknown; files: Array<{ path: string; contentBase64: string }> } {
  let metadata: unknown;
  try {
    metadata = JSON.parse(readFileSync(join(dir, 'module.json'), 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${join(dir, 'module.json')}: ${(e as Error).message}`);
  }
  const files: Array<{ path: string; contentBase64: string }> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name !== 'module.json' && !/\.(o|ko|mod|cmd|symvers|order)$/.test(name)) {
        files.push({ path: relative(dir, p), contentBase64: readFileSync(p).toString('base64') });
      }
    }
  };
  walk(dir);
  return { metadata, files };
}

export function catalogCommand(ctx: CliContext): Command {
  const catalog = new Command('catalog').description('the module catalog (construct-svc)');
  catalog
    .command('list', { isDefault: true })
    .description('list the customization modules the NCO can build')
    .option('--json', 'print the catalog as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.catalogList, undefined, {}, 'construct-svc'));
      if (o.json) return ctx.output.out(toJson(reply.modules));
      ctx.output.out(
        renderTable(
          ['NAME', 'CUSTOMIZES', 'PARAMS', 'INVERSE', 'SOURCE'],
          reply.modules.map((m) => [
            m.name,
            m.customizes,
            m.params.map((p) => `${p.name}:${p.type}=${p.default}`).join(',') || '-',
            Object.keys(m.inverse).join(',') || '-',
            m.sourceSha256.slice(0, 12),
          ]),
        ),
      );
    });
  catalog
    .command('add <dir>')
    .description('add (or replace) a module from a directory holding module.json, its C source and Kbuild')
    .option('--json', 'print the answer as JSON')
    .action(async (dir: string, o: { json?: boolean }, cmd: Command) => {
      const body = readModuleDir(dir);
      const reply = await withConnection(ctx, cmd, (conn, settings) =>
        ask(conn, settings, Subjects.cmd.catalogAdd, undefined, body as never, 'construct-svc'),
      );
      if (o.json) return ctx.output.out(toJson(reply));
      ctx.output.out(`${reply.name}: ${reply.created ? 'added' : reply.changed ? 'updated' : 'unchanged'} (source ${reply.sourceSha256.slice(0, 12)})\n`);
    });
  return catalog;
}

export function buildsCommand(ctx: CliContext): Command {
  return new Command('builds')
    .description('built modules, build errors (with the compiler output) and the build queue')
    .option('--host <id>', 'only this host', (v) => Number(v))
    .option('--module <name>', 'only this module')
    .option('--operation <id>', 'only this operation')
    .option('--limit <n>', 'at most this many rows of each kind', (v) => Number(v), 50)
    .option('--json', 'print everything as JSON')
    .action(async (o: { host?: number; module?: string; operation?: string; limit: number; json?: boolean }, cmd: Command) => {
      const body = {
        ...(o.host !== undefined ? { hostId: o.host } : {}),
        ...(o.module ? { module: o.module } : {}),
        ...(o.operation ? { operationId: o.operation } : {}),
        limit: o.limit,
      };
      const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.buildsList, undefined, body, 'construct-svc'));
      if (o.json) return ctx.output.out(toJson(reply));
      ctx.output.out(
        renderTable(
          ['HOST', 'MODULE ID', 'MODULE', 'PRIORITY', 'SIZE', 'SHA256', 'INSTALL PENDING', 'BUILT'],
          reply.builds.map((b) => [String(b.hostId), String(b.moduleId), b.moduleName, String(b.priority), String(b.artifactSize ?? '-'), (b.artifactSha256 ?? '-').slice(0, 12), b.reqInstall ? 'yes' : 'no', b.builtAt]),
        ),
      );
      if (reply.errors.length) {
        ctx.output.out('\nbuild errors:\n');
        for (const e of reply.errors) ctx.output.out(`host ${e.hostId ?? '-'} ${e.moduleName} (${e.release ?? '?'}) ${e.createdAt}\n${e.error}\n\n`);
      }
      ctx.output.out(`\nqueue: ${Object.entries(reply.queue).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
      for (const j of reply.failedJobs) ctx.output.out(`failed job ${j.id}: ${j.reason} (attempts ${j.attempts})\n`);
    });
}
