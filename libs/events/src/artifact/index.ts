export * from './elf';
export * from './nco-block';
