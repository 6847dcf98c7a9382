import { runService } from '@nco/runtime';
import { orchestrator } from './app';

void runService(orchestrator);
