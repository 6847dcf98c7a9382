import { runService } from '@nco/runtime';
import { revokeService } from './app';

void runService(revokeService);
