import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export type OperationStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'partially_failed' | 'cancelled';
export type PendingKind = 'build' | 'install' | 'toggle' | 'priority' | 'deprecate' | 'revoke' | 'inverse_install' | 'inverse_remove';

/** An operator request (deploy, revoke, …) and its per-host progress counts. */
@Entity('operations')
export class OperationEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text' }) status!: OperationStatus;
  @Column({ type: 'jsonb' }) params!: Record<string, unknown>;
  @Column({ name: 'target_count', type: 'integer' }) targetCount!: number;
  @Column({ type: 'integer' }) pending!: number;
  @Column({ type: 'integer' }) succeeded!: number;
  @Column({ type: 'integer' }) failed!: number;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ name: 'requested_by', type: 'text', nullable: true }) requestedBy!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
}

/** Desired change for one device that has not been confirmed yet: a row first, a message second. */
@Entity('pending_operations')
export class PendingOperationEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'host_id', type: 'integer' }) hostId!: number;
  @Column({ name: 'module_id', type: 'integer', nullable: true }) moduleId!: number | null;
  @Column({ type: 'text' }) kind!: PendingKind;
  @Column({ type: 'jsonb' }) args!: Record<string, unknown>;
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  @Column({ type: 'text' }) state!: 'pending' | 'sent' | 'done' | 'failed';
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ name: 'not_before', type: 'timestamptz' }) notBefore!: Date;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity('audit_log')
export class AuditLogEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
  @Column({ type: 'text' }) actor!: string;
  @Column({ type: 'text' }) action!: string;
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  @Column({ name: 'host_id', type: 'integer', nullable: true }) hostId!: number | null;
  @Column({ name: 'module_id', type: 'integer', nullable: true }) moduleId!: number | null;
  @Column({ type: 'jsonb' }) details!: Record<string, unknown>;
}
