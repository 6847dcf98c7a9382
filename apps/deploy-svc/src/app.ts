import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { DeployModule } from './deploy.module';
import { DeploySettings } from './settings';

export const deployService: ServiceDefinition<typeof DeploySettings> = {
  name: 'deploy-svc',
  settings: DeploySettings,
  modules: () => [CibModule.forRoot(), DeployModule],
};
