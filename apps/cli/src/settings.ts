/*
 * NatsSettings imported from its file on purpose (as apps/dca does): the @nco/runtime index also
 * loads NestJS, which would add ~300 ms to every `nco` command.
 */
import { ConfigError, loadConfig, NatsSettings } from '../../../libs/runtime/src/config/config';

export { ConfigError };

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Global options every command shares (`nco --nats <url> --timeout <ms> <command>`). */
export interface GlobalOptions {
  nats?: string;
  timeout?: number;
}

export interface CliSettings {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  credsFile?: string;
  /** Per request (and for the first connection); undefined = each contract's own timeout. */
  timeoutMs?: number;
}

/**
 * NATS_URL / NATS_USER / NATS_PASS / NATS_TOKEN / NATS_CREDS_FILE from the environment, validated the same way the
 * services validate them; `--nats` wins over NATS_URL. A bad value throws a ConfigError naming it.
 */
export function loadCliSettings(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): CliSettings {
  const source = { ...env };
  if (opts.nats !== undefined) source.NATS_URL = opts.nats;
  let c;
  try {
    c = loadConfig(NatsSettings, source);
  } catch (e) {
    if (e instanceof ConfigError && opts.nats !== undefined) {
      throw new ConfigError(e.problems.map((p) => p.replace(/^NATS_URL:/, '--nats:')));
    }
    throw e;
  }
  return { servers: c.NATS_URL, user: c.NATS_USER, pass: c.NATS_PASS, token: c.NATS_TOKEN, credsFile: c.NATS_CREDS_FILE, timeoutMs: opts.timeout };
}
