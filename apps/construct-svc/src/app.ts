import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { ConstructSettings } from './settings';

export const constructService: ServiceDefinition<typeof ConstructSettings> = {
  name: 'construct-svc',
  settings: ConstructSettings,
  modules: () => [CibModule.forRoot()],
};
