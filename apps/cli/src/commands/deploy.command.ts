import { Command, Option } from 'commander';
import { Subjects } from '@nco/events';
import { collectParam, parseSecurityWindow, positiveInt } from '../args';
import { CliContext } from '../context';
import { submitOperation, WaitOptions, withWaitOptions } from '../operations/submit';
import { targetOf, TargetOptions, withTargetOptions } from '../target';

interface DeployOptions extends TargetOptions, WaitOptions {
  inactive?: boolean;
  priority?: number;
  param?: Record<string, string | number | boolean>;
  applyNow: boolean;
  toolchain: 'stamp' | 'kbuild';
  securityWindow?: number;
}

export function deployCommand(ctx: CliContext): Command {
  const cmd = new Command('deploy')
    .description('build a host-unique copy of <module> for each target host and install it')
    .argument('<module>', 'catalog module name (nco catalog)');
  withTargetOptions(cmd)
    .option('--inactive', 'install switched off (active mode 0); switch on later with nco toggle')
    .option('--priority <n>', 'priority on every host, 1..65534 (default: a free random one per host)', positiveInt(65534))
    .option('-p, --param <name=value>', 'module parameter (repeat); checked against module.json', collectParam)
    .option('--no-apply-now', 'build now, let the device apply it at its next convenient point')
    .addOption(new Option('--toolchain <kind>', 'stamp: compile once per kernel and stamp per host; kbuild: compile per host').choices(['stamp', 'kbuild']).default('stamp'))
    .option('--security-window <duration>', 'challenge each new module this often, 1s..30d (default: security-svc\'s CHALLENGE_WINDOW_S)', parseSecurityWindow);
  withWaitOptions(cmd).addHelpText(
    'after',
    `
Examples:
  nco deploy dns-tag --all
  nco deploy port-match --label rack=a1 -p dst_port=53 --priority 100
  nco deploy dns-tag --host 3,4 --inactive --no-wait --json
  nco deploy dns-tag --all --security-window 10m`,
  );
  return cmd.action(async (module: string, o: DeployOptions, self: Command) => {
    const body = {
      module,
      target: targetOf(o),
      activeMode: o.inactive ? 0 : 1,
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      applyNow: o.applyNow,
      params: o.param ?? {},
      toolchain: o.toolchain,
      ...(o.securityWindow !== undefined ? { securityWindowMs: o.securityWindow } : {}),
    } as const;
    await submitOperation(ctx, self, Subjects.cmd.deploy, body, 'the orchestrator', o);
  });
}
