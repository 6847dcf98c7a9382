import { Command, CommanderError, Option } from 'commander';
import { parseTimeout } from './args';
import { hostsCommand } from './commands/hosts.command';
import { buildsCommand, catalogCommand } from './commands/catalog.command';
import { watchCommand } from './commands/watch.command';
import { deployCommand } from './commands/deploy.command';
import { deprecateCommand, priorityCommand, revokeCommand, rotateCommand, toggleCommand } from './commands/lifecycle.command';
import { labelCommand } from './commands/label.command';
import { modulesCommand } from './commands/modules.command';
import { operationsCommand, statusCommand } from './commands/status.command';
import { inverseCommand, middleboxesCommand } from './commands/middlebox.command';
import { devicesCommand } from './commands/devices.command';
import { keysCommand } from './commands/keys.command';
import { CliContext, processContext } from './context';
import { describeError, ExitCode } from './errors';
import { DEFAULT_NATS_URL } from './settings';

function version(): string {
  try {
    return (require('@nco/cli/package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The `nco` program: global options, one sub-command per file in commands/. */
export function buildProgram(ctx: CliContext = processContext): Command {
  const program = new Command('nco')
    .description('Operator CLI of the Layer 4.5 NCO: talks to the NCO services over NATS, never to the database.')
    .version(version(), '-V, --version')
    .addOption(new Option('--nats <url>', `NATS server(s), comma-separated (default: $NATS_URL or ${DEFAULT_NATS_URL})`))
    .addOption(new Option('--timeout <ms>', 'how long to wait for NATS and for each answer (default: per command, 10000 for hosts)').argParser(parseTimeout))
    .configureOutput({
      writeOut: (s) => ctx.output.out(s),
      writeErr: (s) => ctx.output.err(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Settings: NATS_URL, NATS_USER, NATS_PASS, NATS_TOKEN, NATS_CREDS_FILE (environment).
Exit codes: 0 ok, 1 the command failed (the NCO answered with an error, NATS unreachable), 2 usage.`,
    );
  const commands = [
    hostsCommand, labelCommand, modulesCommand,
    deployCommand, toggleCommand, priorityCommand, deprecateCommand, revokeCommand, rotateCommand,
    statusCommand, operationsCommand, watchCommand,
    catalogCommand, buildsCommand, middleboxesCommand, inverseCommand, devicesCommand, keysCommand,
  ];
  for (const make of commands) {
    const cmd = make(ctx);
    cmd.configureOutput(program.configureOutput()).showHelpAfterError(`(run nco ${cmd.name()} --help for usage)`);
    program.addCommand(cmd);
  }
  return program;
}

/**
 * Runs `nco` with `argv` (without node and script) and resolves to the exit code. Usage errors
 * are printed by commander (message and a pointer to --help); every other failure is one line
 * `nco: <message>` on stderr.
 */
export async function runCli(argv: string[], ctx: CliContext = processContext): Promise<number> {
  const program = buildProgram(ctx);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; `nco` without a command prints the help on stderr: a usage error.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const { line, exitCode } = describeError(e);
    ctx.output.err(`nco: ${line}\n`);
    return exitCode;
  }
}
