import { CibModule } from '@nco/cib';
import { ServiceDefinition } from '@nco/runtime';
import { LivenessModule } from './liveness/liveness.module';
import { ReportsModule } from './reports/reports.module';
import { MonitorSettings } from './settings';

/** monitor-svc: reports reconciled into the CIB in batches, host liveness, findings as events. */
export const monitor: ServiceDefinition<typeof MonitorSettings> = {
  name: 'monitor-svc',
  settings: MonitorSettings,
  modules: () => [CibModule.forRoot(), ReportsModule, LivenessModule],
};
