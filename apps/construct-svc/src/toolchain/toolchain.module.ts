import { Module } from '@nestjs/common';
import { SERVICE_CONFIG } from '@nco/runtime';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConstructConfig } from '../settings';
import { KbuildToolchain } from './kbuild.toolchain';
import { parseReleaseMap } from './release-map';

/** Provides the kbuild toolchain configured from the service settings. */
@Module({
  providers: [
    {
      provide: KbuildToolchain,
      inject: [SERVICE_CONFIG],
      useFactory: (config: ConstructConfig) =>
        new KbuildToolchain({
          headersRoot: config.KBUILD_HEADERS_ROOT,
          workRoot: join(tmpdir(), 'nco-kbuild'),
          timeoutMs: config.KBUILD_TIMEOUT_MS,
          includeDir: resolve(config.CATALOG_DIR || 'modules', 'include'),
          releaseMap: parseReleaseMap(config.KBUILD_RELEASE_MAP),
        }),
    },
  ],
  exports: [KbuildToolchain],
})
export class ToolchainModule {}
