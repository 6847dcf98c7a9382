export * from './entities';
export * from './migrations';
export * from './data-source';
export * from './cib.module';
export * from './repositories/host.repository';
export * from './repositories/report.repository';
export * from './repositories/audit.repository';
