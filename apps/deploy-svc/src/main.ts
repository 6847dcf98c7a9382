import { runService } from '@nco/runtime';
import { deployService } from './app';

void runService(deployService);
