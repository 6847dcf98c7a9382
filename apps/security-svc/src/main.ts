import { runService } from '@nco/runtime';
import { securityService } from './app';

void runService(securityService);
