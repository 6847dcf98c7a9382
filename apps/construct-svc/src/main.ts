import { runService } from '@nco/runtime';
import { constructService } from './app';

void runService(constructService);
