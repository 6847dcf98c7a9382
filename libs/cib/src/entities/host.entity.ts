import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('hosts')
export class HostEntity {
  @PrimaryColumn({ name: 'host_id', type: 'integer' }) hostId!: number;
  @Column({ type: 'text', unique: true }) mac!: string;
  @Column({ type: 'text' }) release!: string;
  @Column({ type: 'text', nullable: true }) ip!: string | null;
  @Column({ type: 'integer', nullable: true }) port!: number | null;
  @Column({ name: 'middlebox_type', type: 'text', nullable: true }) middleboxType!: string | null;
  @Column({ type: 'jsonb', default: {} }) labels!: Record<string, string>;
  @Column({ type: 'boolean', default: false }) online!: boolean;
  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true }) lastSeenAt!: Date | null;
  @Column({ name: 'last_report_at', type: 'timestamptz', nullable: true }) lastReportAt!: Date | null;
  @Column({ name: 'last_checkin_at', type: 'timestamptz', nullable: true }) lastCheckinAt!: Date | null;
  @Column({ name: 'last_report_issued_at', type: 'timestamptz', nullable: true }) lastReportIssuedAt!: Date | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity('symvers')
export class SymversEntity {
  @PrimaryColumn({ name: 'host_id', type: 'integer' }) hostId!: number;
  @Column({ type: 'text' }) release!: string;
  @Column({ type: 'text' }) sha256!: string;
  @Column({ type: 'integer' }) size!: number;
  @Column({ type: 'bytea' }) content!: Buffer;
  @Column({ name: 'collected_at', type: 'timestamptz' }) collectedAt!: Date;
}

@Entity('middleboxes')
export class MiddleboxEntity {
  @PrimaryColumn({ name: 'host_id', type: 'integer' }) hostId!: number;
  @Column({ type: 'text' }) type!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
