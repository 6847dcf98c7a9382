import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { ChallengeModule } from './challenge/challenge.module';
import { KeysModule } from './keys/keys.module';
import { SecuritySettings } from './settings';

export const securityService: ServiceDefinition<typeof SecuritySettings> = {
  name: 'security-svc',
  settings: SecuritySettings,
  modules: () => [CibModule.forRoot(), KeysModule, ChallengeModule],
};
