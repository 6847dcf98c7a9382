export * from './signing-keys';
export * from './nonce-cache';
export * from './command-signing';
export * from './challenge';
export * from './device-keys';
export * from './device-signing';
export * from './artifact-seal';
