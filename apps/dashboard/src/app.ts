import { ServiceDefinition } from '@nco/runtime';
import { DashboardModule } from './dashboard.module';
import { DashboardSettings } from './settings';

/** The live web dashboard: read-only, fed by the report and event streams and the operator queries. */
export const dashboardService: ServiceDefinition<typeof DashboardSettings> = {
  name: 'dashboard',
  settings: DashboardSettings,
  modules: () => [DashboardModule],
};
