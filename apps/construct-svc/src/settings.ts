import { env, serviceSettings } from '@nco/runtime';
import { z } from 'zod';

export const ConstructSettings = serviceSettings(3002).extend({
  /** Folder of catalog modules loaded (and refreshed) at start; empty to load none. */
  CATALOG_DIR: z.string().default('modules'),
  /** Where kernel headers live: /usr/src/linux-headers-<release>. */
  KBUILD_HEADERS_ROOT: z.string().default('/usr/src'),
  /** Kernel releases to build with another release's headers: `from=to,from=to`. */
  KBUILD_RELEASE_MAP: z.string().default(''),
  KBUILD_TIMEOUT_MS: env.int(5_000, 3_600_000).default(180_000),
  /** Builds that run at once on one replica (kbuild is CPU-bound). */
  BUILD_CONCURRENCY: env.int(1, 64).default(2),
  /** Hosts stamped and written per transaction. */
  BUILD_CHUNK: env.int(1, 20_000).default(2_000),
  BUILD_ATTEMPTS: env.int(1, 20).default(5),
  /** Symvers requests to devices in flight at once. */
  SYMVERS_CONCURRENCY: env.int(1, 10_000).default(500),
  /** Collect symvers when hosts check in (not only when a deploy needs them). */
  SYMVERS_PREFETCH: env.bool.default(true),
  SYMVERS_PREFETCH_DELAY_MS: env.int(0, 60_000).default(500),
  /** How long a build waits before retrying hosts whose device did not answer. */
  BUILD_DEFER_MS: env.int(100, 86_400_000).default(30_000),
  BUILD_SWEEP_MS: env.int(500, 3_600_000).default(15_000),
});
export type ConstructConfig = z.infer<typeof ConstructSettings>;
