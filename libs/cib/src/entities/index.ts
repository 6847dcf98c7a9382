import { AuditLogEntity, OperationEntity, PendingOperationEntity } from './operation.entity';
import { HostEntity, MiddleboxEntity, SymversEntity } from './host.entity';
import {
  BuildFlavorEntity,
  CatalogModuleEntity,
  ModuleKeyEntity,
  BuildErrorEntity,
  BuiltModuleEntity,
  DeploymentEntity,
  InverseDeploymentEntity,
  InverseModuleEntity,
  RevocationEntity,
  UnknownModuleEntity,
} from './module.entity';

export * from './host.entity';
export * from './module.entity';
export * from './operation.entity';

export const CIB_ENTITIES = [
  HostEntity,
  SymversEntity,
  MiddleboxEntity,
  BuiltModuleEntity,
  BuildErrorEntity,
  DeploymentEntity,
  RevocationEntity,
  UnknownModuleEntity,
  InverseModuleEntity,
  InverseDeploymentEntity,
  OperationEntity,
  PendingOperationEntity,
  AuditLogEntity,
  CatalogModuleEntity,
  BuildFlavorEntity,
  ModuleKeyEntity,
];
