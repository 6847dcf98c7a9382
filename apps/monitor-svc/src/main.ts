import { runService } from '@nco/runtime';
import { monitor } from './app';

void runService(monitor);
