import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export type DeploymentState = 'pending' | 'delivered' | 'installed' | 'verified' | 'failed';

@Entity('built_modules')
export class BuiltModuleEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'host_id', type: 'integer' }) hostId!: number;
  @Column({ name: 'module_id', type: 'integer' }) moduleId!: number;
  @Column({ name: 'module_name', type: 'text' }) moduleName!: string;
  @Column({ name: 'source_sha256', type: 'text', nullable: true }) sourceSha256!: string | null;
  @Column({ name: 'key_id', type: 'uuid', nullable: true }) keyId!: string | null;
  @Column({ name: 'active_mode', type: 'smallint' }) activeMode!: number;
  @Column({ type: 'integer' }) priority!: number;
  @Column({ name: 'apply_now', type: 'boolean' }) applyNow!: boolean;
  @Column({ type: 'jsonb' }) params!: Record<string, unknown>;
  @Column({ name: 'artifact_sha256', type: 'text', nullable: true }) artifactSha256!: string | null;
  @Column({ name: 'artifact_size', type: 'integer', nullable: true }) artifactSize!: number | null;
  @Column({ name: 'artifact_ref', type: 'text', nullable: true }) artifactRef!: string | null;
  @Column({ name: 'req_install', type: 'boolean' }) reqInstall!: boolean;
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  @Column({ name: 'built_at', type: 'timestamptz' }) builtAt!: Date;
  @Column({ type: 'text', nullable: true }) flavor!: string | null;
  @Column({ type: 'text' }) toolchain!: 'stamp' | 'kbuild';
}

@Entity('build_errors')
export class BuildErrorEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'host_id', type: 'integer', nullable: true }) hostId!: number | null;
  @Column({ name: 'module_name', type: 'text' }) moduleName!: string;
  @Column({ type: 'text', nullable: true }) release!: string | null;
  @Column({ type: 'text' }) error!: string;
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity('deployments')
export class DeploymentEntity {
  @PrimaryColumn({ name: 'host_id', type: 'integer' }) hostId!: number;
  @PrimaryColumn({ name: 'module_id', type: 'integer' }) moduleId!: number;
  @Column({ name: 'built_module_id', type: 'uuid', nullable: true }) builtModuleId!: string | null;
  @Column({ name: 'module_name', type: 'text' }) moduleName!: string;
  @Column({ type: 'text' }) state!: DeploymentState;
  @Column({ name: 'active_mode', type: 'smallint' }) activeMode!: number;
  @Column({ type: 'integer' }) priority!: number;
  @Column({ type: 'boolean' }) deprecated!: boolean;
  @Column({ name: 'socket_count', type: 'integer' }) socketCount!: number;
  @Column({ name: 'reported_at', type: 'timestamptz', nullable: true }) reportedAt!: Date | null;
  @Column({ name: 'kernel_ts', type: 'double precision', nullable: true }) kernelTs!: number | null;
  @Column({ name: 'installed_at', type: 'timestamptz', nullable: true }) installedAt!: Date | null;
  @Column({ name: 'host_error_at', type: 'timestamptz', nullable: true }) hostErrorAt!: Date | null;
  @Column({ name: 'security_checked_at', type: 'timestamptz', nullable: true }) securityCheckedAt!: Date | null;
  @Column({ name: 'deprecated_at', type: 'timestamptz', nullable: true }) deprecatedAt!: Date | null;
  @Column({ name: 'failure_reason', type: 'text', nullable: true }) failureReason!: string | null;
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity('revocations')
export class RevocationEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ name: 'host_id', type: 'integer' }) hostId!: number;
  @Column({ name: 'module_id', type: 'integer' }) moduleId!: number;
  @Column({ name: 'module_name', type: 'text', nullable: true }) moduleName!: string | null;
  @Column({ type: 'text' }) source!: 'report' | 'operator' | 'challenge' | 'rotate';
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'kernel_ts', type: 'double precision', nullable: true }) kernelTs!: number | null;
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  @Column({ name: 'revoked_at', type: 'timestamptz' }) revokedAt!: Date;
}

@Entity('unknown_modules')
export class UnknownModuleEntity {
  @PrimaryColumn({ name: 'host_id', type: 'integer' }) hostId!: number;
  @PrimaryColumn({ name: 'module_id', type: 'integer' }) moduleId!: number;
  @Column({ name: 'active_mode', type: 'smallint', nullable: true }) activeMode!: number | null;
  @Column({ name: 'socket_count', type: 'integer', nullable: true }) socketCount!: number | null;
  @Column({ name: 'first_seen_at', type: 'timestamptz' }) firstSeenAt!: Date;
  @Column({ name: 'last_seen_at', type: 'timestamptz' }) lastSeenAt!: Date;
}

@Entity('inverse_modules')
export class InverseModuleEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'module_name', type: 'text' }) moduleName!: string;
  @Column({ name: 'middlebox_type', type: 'text' }) middleboxType!: string;
  @Column({ name: 'file_name', type: 'text' }) fileName!: string;
  @Column({ type: 'bytea' }) content!: Buffer;
  @Column({ type: 'text' }) sha256!: string;
  @Column({ type: 'integer' }) size!: number;
  @Column({ type: 'text' }) source!: 'catalog' | 'operator';
  @Column({ name: 'catalog_sha256', type: 'text', nullable: true }) catalogSha256!: string | null;
  @Column({ name: 'unlinked_at', type: 'timestamptz', nullable: true }) unlinkedAt!: Date | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity('inverse_deployments')
export class InverseDeploymentEntity {
  @PrimaryColumn({ name: 'middlebox_host_id', type: 'integer' }) middleboxHostId!: number;
  @PrimaryColumn({ name: 'inverse_module_id', type: 'uuid' }) inverseModuleId!: string;
  @Column({ type: 'text' }) state!: 'required' | 'installed' | 'removing' | 'removed';
  @Column({ name: 'installed_sha256', type: 'text', nullable: true }) installedSha256!: string | null;
  @Column({ name: 'gave_up_at', type: 'timestamptz', nullable: true }) gaveUpAt!: Date | null;
  @Column({ name: 'required_at', type: 'timestamptz', nullable: true }) requiredAt!: Date | null;
  @Column({ name: 'installed_at', type: 'timestamptz', nullable: true }) installedAt!: Date | null;
  @Column({ name: 'removed_at', type: 'timestamptz', nullable: true }) removedAt!: Date | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity('catalog_modules')
export class CatalogModuleEntity {
  @PrimaryColumn({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) description!: string;
  @Column({ type: 'text' }) customizes!: string;
  @Column({ type: 'jsonb' }) metadata!: Record<string, unknown>;
  @Column({ name: 'source_sha256', type: 'text' }) sourceSha256!: string;
  /** The module's files: relative path → base64 content. */
  @Column({ type: 'jsonb' }) files!: Record<string, string>;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** A module compiled once for one (source, kernel release, symvers): the template hosts are stamped from. */
@Entity('build_flavors')
export class BuildFlavorEntity {
  @PrimaryColumn({ type: 'text' }) flavor!: string;
  @Column({ name: 'module_name', type: 'text' }) moduleName!: string;
  @Column({ name: 'source_sha256', type: 'text' }) sourceSha256!: string;
  @Column({ type: 'text' }) release!: string;
  @Column({ name: 'symvers_sha256', type: 'text' }) symversSha256!: string;
  @Column({ name: 'artifact_ref', type: 'text' }) artifactRef!: string;
  @Column({ name: 'artifact_sha256', type: 'text' }) artifactSha256!: string;
  @Column({ name: 'artifact_size', type: 'integer' }) artifactSize!: number;
  @Column({ name: 'compile_ms', type: 'integer' }) compileMs!: number;
  @Column({ name: 'compiled_at', type: 'timestamptz' }) compiledAt!: Date;
}

/** A module key, wrapped (AES-256-GCM) under a key-encryption key named by kek_id. */
@Entity('module_keys')
export class ModuleKeyEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'bytea' }) wrapped!: Buffer;
  @Column({ name: 'kek_id', type: 'text' }) kekId!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
