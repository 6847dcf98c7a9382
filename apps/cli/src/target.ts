import { Command } from 'commander';
import { HostTarget, ModuleName } from '@nco/events';
import { collectHostIds, collectLabel, labelSelector } from './args';
import { usageError } from './errors';

export interface TargetOptions {
  host?: number[];
  label?: Array<[string, string]>;
  all?: boolean;
}

/** The host selection every fleet command takes: --host, --label or --all (exactly one). */
export function withTargetOptions(cmd: Command): Command {
  return cmd
    .option('-H, --host <ids>', 'these hosts: ids, comma-separated or repeated', collectHostIds)
    .option('-l, --label <key=value>', 'hosts with this label (repeat: all must match)', collectLabel)
    .option('--all', 'every host the NCO knows');
}

export function targetOf(o: TargetOptions): HostTarget {
  const given = [o.host?.length ? 'host' : '', o.label?.length ? 'label' : '', o.all ? 'all' : ''].filter(Boolean);
  if (given.length !== 1) {
    throw usageError(given.length === 0 ? 'say which hosts: --host <ids>, --label <key=value> or --all' : `give only one of --${given.join(', --')}`);
  }
  if (o.host?.length) return { hostIds: o.host };
  if (o.all) return { all: true };
  return { labels: labelSelector(o.label) } as HostTarget;
}

/**
 * A module argument: a catalog name (dns-tag) acts on that module on every target host; a number
 * is a module id, which is per host, so it needs exactly one --host.
 */
export function moduleSelector(arg: string, target: HostTarget): { module: string } | { moduleId: number } {
  if (/^\d+$/.test(arg)) {
    if (target.hostIds?.length !== 1) throw usageError(`module id ${arg} is per host: give exactly one --host (or the module's name)`);
    return { moduleId: parseModuleId(arg) };
  }
  if (!ModuleName.safeParse(arg).success) throw usageError(`"${arg}" is neither a module name (like dns-tag) nor a module id`);
  return { module: arg };
}

function parseModuleId(arg: string): number {
  const id = Number(arg);
  if (id < 1 || id > 65535) throw usageError(`module ids are 1..65535, not ${arg}`);
  return id;
}
