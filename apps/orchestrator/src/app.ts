import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { HostsModule } from './hosts/hosts.module';
import { OperationsModule } from './operations/operations.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { OrchestratorSettings } from './settings';

export const orchestrator: ServiceDefinition<typeof OrchestratorSettings> = {
  name: 'orchestrator',
  settings: OrchestratorSettings,
  modules: () => [CibModule.forRoot(), HostsModule, OperationsModule, LifecycleModule],
};
