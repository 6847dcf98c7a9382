// Carrying device work from the CIB to the devices, shared by deploy-svc and revoke-svc: claim
// due pending rows, deliver them as device commands, settle the outcomes; triggers; command intake.
export * from './dispatcher';
export * from './command.delivery';
export * from './command-intake.service';
export * from './dispatch.settings';
export * from './dispatch.metrics';
export * from './triggers';
export * from './outcome';
