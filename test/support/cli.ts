import { runCli } from '../../apps/cli/src/program';
import { CliContext, processContext } from '../../apps/cli/src/context';
import { memoryOutput } from '../../apps/cli/src/output/io';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/**
 * Runs `nco` in this process against a NATS URL: the real program (commander, NATS client,
 * requests, progress following), only stdout/stderr captured instead of printed.
 */
export async function nco(natsUrl: string, ...args: string[]): Promise<CliRun> {
  const output = memoryOutput();
  const ctx: CliContext = { ...processContext, output, env: { NATS_URL: natsUrl }, onInterrupt: () => () => undefined };
  const code = await runCli(args, ctx);
  return {
    code,
    stdout: output.stdout,
    stderr: output.stderr,
    json: () => {
      try {
        return JSON.parse(output.stdout);
      } catch {
        throw new Error(`nco ${args.join(' ')} did not print JSON (exit ${code}):\n${output.stdout}\n${output.stderr}`);
      }
    },
  };
}
