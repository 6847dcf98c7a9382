import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { BuildsModule } from './builds/builds.module';
import { ConstructSettings } from './settings';

export const constructService: ServiceDefinition<typeof ConstructSettings> = {
  name: 'construct-svc',
  settings: ConstructSettings,
  modules: () => [CibModule.forRoot(), BuildsModule],
};
