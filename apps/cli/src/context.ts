import { Command } from 'commander';
import { CliConnection, connectCli, ConnectOptions } from './nats';
import { Output, processOutput } from './output/io';
import { CliSettings, GlobalOptions, loadCliSettings } from './settings';

/** What a command needs from the outside world; tests hand in their own. */
export interface CliContext {
  output: Output;
  env: NodeJS.ProcessEnv;
  now(): Date;
  connect(settings: CliSettings, opts?: ConnectOptions): Promise<CliConnection>;
  /** Calls `onStop` on Ctrl-C / SIGTERM; returns a function that removes the handler. */
  onInterrupt(onStop: () => void): () => void;
}

export const processContext: CliContext = {
  output: processOutput,
  env: process.env,
  now: () => new Date(),
  connect: connectCli,
  onInterrupt(onStop) {
    const handler = () => onStop();
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

/** The NATS settings of a command: environment, then the global `--nats` / `--timeout`. */
export function settingsOf(ctx: CliContext, cmd: Command): CliSettings {
  return loadCliSettings(cmd.optsWithGlobals<GlobalOptions>(), ctx.env);
}

/** Connects, runs `fn`, and closes the connection whatever happened. */
export async function withConnection<T>(
  ctx: CliContext,
  cmd: Command,
  fn: (conn: CliConnection, settings: CliSettings) => Promise<T>,
  opts: ConnectOptions = {},
): Promise<T> {
  const settings = settingsOf(ctx, cmd);
  const conn = await ctx.connect(settings, opts);
  try {
    return await fn(conn, settings);
  } finally {
    await conn.close();
  }
}
