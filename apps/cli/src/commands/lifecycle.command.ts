import { Command, Option } from 'commander';
import { Subjects } from '@nco/events';
import { collectParam, parseDurationArg, parseMode, positiveInt } from '../args';
import { CliContext } from '../context';
import { submitOperation, WaitOptions, withWaitOptions } from '../operations/submit';
import { moduleSelector, targetOf, TargetOptions, withTargetOptions } from '../target';

type Opts = TargetOptions & WaitOptions;

const MODULE_ARG = 'module name (every target host) or module id (with one --host)';

/** A lifecycle command on a deployed module: `nco <verb> <module> [value] <target>`. */
function moduleCommand(name: string, description: string): Command {
  return new Command(name).description(description).argument('<module>', MODULE_ARG);
}

/** Adds the target and wait options after the command's own arguments, and its examples. */
function finish(cmd: Command, examples: string[]): Command {
  withTargetOptions(cmd);
  return withWaitOptions(cmd).addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
}

export function toggleCommand(ctx: CliContext): Command {
  const cmd = moduleCommand('toggle', 'switch a deployed module on or off (its active mode)').argument('<on|off>', 'on or off', parseMode);
  return finish(cmd, ['nco toggle dns-tag off --all', 'nco toggle 517 on --host 3']).action(async (module: string, mode: 0 | 1, o: Opts, self: Command) => {
    const target = targetOf(o);
    await submitOperation(ctx, self, Subjects.cmd.toggle, { target, ...moduleSelector(module, target), mode }, 'deploy-svc', o);
  });
}

export function priorityCommand(ctx: CliContext): Command {
  const cmd = moduleCommand('priority', 'set the priority of a deployed module (1..65534, unique per host)').argument('<priority>', '1..65534', positiveInt(65534));
  return finish(cmd, ['nco priority dns-tag 200 --label rack=a1', 'nco priority 517 10 --host 3']).action(async (module: string, priority: number, o: Opts, self: Command) => {
    const target = targetOf(o);
    await submitOperation(ctx, self, Subjects.cmd.priority, { target, ...moduleSelector(module, target), priority }, 'deploy-svc', o);
  });
}

export function deprecateCommand(ctx: CliContext): Command {
  const cmd = moduleCommand('deprecate', 'stop a module taking new sockets (existing ones keep it until they close)');
  return finish(cmd, ['nco deprecate dns-tag --all']).action(async (module: string, o: Opts, self: Command) => {
    const target = targetOf(o);
    await submitOperation(ctx, self, Subjects.cmd.deprecate, { target, ...moduleSelector(module, target) }, 'revoke-svc', o);
  });
}

export function revokeCommand(ctx: CliContext): Command {
  const cmd = moduleCommand('revoke', 'unload a module and delete it from the devices').option('--reason <text>', 'why (kept in the revocation history)');
  return finish(cmd, ['nco revoke dns-tag --all --reason "replaced by v2"', 'nco revoke 517 --host 3']).action(async (module: string, o: Opts & { reason?: string }, self: Command) => {
    const target = targetOf(o);
    const body = { target, ...moduleSelector(module, target), ...(o.reason ? { reason: o.reason } : {}) };
    await submitOperation(ctx, self, Subjects.cmd.revoke, body, 'revoke-svc', o);
  });
}

export function rotateCommand(ctx: CliContext): Command {
  const cmd = new Command('rotate')
    .description('deploy <to>, deprecate <from> once <to> is installed, revoke <from> when its sockets drain (or at the drain timeout)')
    .argument('<from>', 'the module in service now (name)')
    .argument('<to>', 'the module replacing it (name)')
    .addOption(new Option('--drain-timeout <duration>', 'revoke <from> after this long even if sockets still use it').argParser(parseDurationArg).default(300_000, '5m'))
    .option('--inactive', 'install <to> switched off')
    .option('-p, --param <name=value>', 'parameter of <to> (repeat)', collectParam);
  withTargetOptions(cmd);
  withWaitOptions(cmd, '1h').addHelpText('after', '\nExamples:\n  nco rotate dns-tag dns-tag-v2 --all --drain-timeout 10m');
  return cmd.action(async (from: string, to: string, o: Opts & { drainTimeout: number; inactive?: boolean; param?: Record<string, string | number | boolean> }, self: Command) => {
    const body = { target: targetOf(o), from, to, activeMode: o.inactive ? 0 : 1, params: o.param ?? {}, drainTimeoutMs: o.drainTimeout } as const;
    await submitOperation(ctx, self, Subjects.cmd.rotate, body, 'the orchestrator', o);
  });
}
