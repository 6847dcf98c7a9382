import { z } from 'zod';

/** Raised at start when a setting is missing or wrong; the message names every bad setting. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const env = {
  bool,
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  url: (protocols: string[]) =>
    z.string().refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol.replace(':', ''));
      } catch {
        return false;
      }
    }, `expected a ${protocols.join(' or ')} URL`),
  /** Comma-separated NATS URLs. */
  natsUrls: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((u) => /^(nats|tls|ws|wss):\/\/[^\s]+$/.test(u)), 'expected nats://host:port[,nats://…]'),
  size: z
    .string()
    .regex(/^\d+[kmg]?$/i, 'expected a size like 32k, 10m or 1g')
    .transform((v) => v.toLowerCase()),
};

/** Settings every process shares: where the brokers are and how to log. */
export const LoggingSettings = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (default) for machines, `pretty` for a person at a console. */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** When set, logs also go to this file, rotated by size. */
  LOG_FILE: z.string().min(1).optional(),
  LOG_FILE_SIZE: env.size.default('32k'),
  LOG_FILE_COUNT: env.int(1, 1000).default(5),
});

export const NatsSettings = z.object({
  NATS_URL: env.natsUrls.default(['nats://127.0.0.1:4222']),
  NATS_USER: z.string().optional(),
  NATS_PASS: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  /** NATS user creds (JWT + seed) from `npm run nats-auth` (docs/security.md, "NATS permissions"). */
  NATS_CREDS_FILE: z.string().min(1).optional(),
});

export const DatabaseSettings = z.object({
  DATABASE_URL: env.url(['postgres', 'postgresql']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  DATABASE_POOL_SIZE: env.int(1, 200).default(10),
  /** Run pending migrations when the service starts (one replica wins the lock, the others wait). */
  MIGRATE_ON_START: bool.default(false),
});

export const RedisSettings = z.object({
  REDIS_URL: env.url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
  /** Key prefix of the BullMQ queues: systems sharing one Redis keep their queues apart with it. */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (up to 64)').default('nco'),
});

export const HttpSettings = z.object({
  /** Port of the health/metrics HTTP endpoint; 0 picks a free one. */
  HTTP_PORT: env.int(0, 65535),
  HTTP_HOST: z.string().default('0.0.0.0'),
  SHUTDOWN_TIMEOUT_MS: env.int(100, 600_000).default(15_000),
});

/**
 * Reads settings from the environment and validates them with `schema`. Empty strings count as
 * unset, so `FOO=` falls back to the default instead of failing on an empty value.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, source: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = source[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? '(settings)');
        const given = source[key];
        return `${key}: ${i.message}${given !== undefined ? ` (got ${JSON.stringify(given)})` : ''}`;
      }),
    );
  }
  return parsed.data;
}

/** The NCO's command-signing key (docs/security.md): `kid:base64(PKCS#8 Ed25519)`, or a file holding it. */
export const SigningSettings = z.object({
  NCO_SIGNING_KEY: z.string().min(8).optional(),
  NCO_SIGNING_KEY_FILE: z.string().min(1).optional(),
});

/** The NCO's report key (docs/security.md, "Reports"): `kid:base64(PKCS#8 X25519)[,kid:…]`, or a file holding it. */
export const ReportKeySettings = z.object({
  NCO_REPORT_KEY: z.string().min(8).optional(),
  NCO_REPORT_KEY_FILE: z.string().min(1).optional(),
});

/** The settings every NCO service reads, with its own default HTTP port. */
export function serviceSettings(defaultHttpPort: number) {
  return LoggingSettings.extend(NatsSettings.shape)
    .extend(SigningSettings.shape)
    .extend(ReportKeySettings.shape)
    .extend(DatabaseSettings.shape)
    .extend(RedisSettings.shape)
    .extend(HttpSettings.shape)
    .extend({ HTTP_PORT: env.int(0, 65535).default(defaultHttpPort) });
}
