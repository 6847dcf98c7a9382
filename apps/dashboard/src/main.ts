import { runService } from '@nco/runtime';
import { dashboardService } from './app';

void runService(dashboardService);
