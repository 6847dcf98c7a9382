import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { RevokeModule } from './revoke.module';
import { RevokeSettings } from './settings';

export const revokeService: ServiceDefinition<typeof RevokeSettings> = {
  name: 'revoke-svc',
  settings: RevokeSettings,
  modules: () => [CibModule.forRoot(), RevokeModule],
};
