import { z } from 'zod';
import { defineEvent, defineRequest } from './contract';
import { CheckinBody, CheckinReply, DeviceIncident, EmptyBody, ReportBody } from './schemas/device.schema';
import {
  HostChangedBody,
  HostLivenessBody,
  HostRegisteredBody,
  ReconcileFindingBody,
} from './schemas/event.schema';
import { HostsListBody, HostsListReply } from './schemas/host.schema';
import { CatalogAddBody, CatalogAddReply, CatalogListReply } from './schemas/catalog.schema';
import {
  BuildEventBody,
  BuildRequestBody,
  BuildsListBody,
  BuildsListReply,
  OperationAccepted,
  OperationGetBody,
  OperationProgressBody,
  OperationDetail,
  OperationSummary,
  SymversReply,
} from './schemas/build.schema';
import {
  DeployBody,
  DeprecateBody,
  HostModulesBody,
  HostModulesReply,
  InstallCommand,
  KernelResult,
  LabelBody,
  LabelReply,
  ModuleCommand,
  OperationsListBody,
  PriorityBody,
  PriorityCommand,
  RevokeBody,
  RotateBody,
  ToggleBody,
  ToggleCommand,
} from './schemas/lifecycle.schema';
import { KeysGetBody, KeysIssueBody, KeysReply, KeysRewrapReply } from './schemas/keys.schema';
import { ChallengeAnswer, ChallengeCommand, ChallengeFailedBody, DeviceChangeReply, DeviceSelectBody, DevicesListBody, DevicesListReply } from './schemas/security.schema';
import {
  InverseInstallCommand,
  InverseLinkBody,
  InverseLinkReply,
  InverseRemoveCommand,
  InverseResult,
  InverseUnlinkBody,
  InverseUnlinkReply,
  MiddleboxesListBody,
  MiddleboxesListReply,
} from './schemas/middlebox.schema';

type HostParams = { hostId: number };

/**
 * Every subject of the system, in one place (see docs/subjects.md).
 *
 * - `nco.checkin`                 device → NCO, before the device has a host id
 * - `nco.dev.<hostId>.report`     device → NCO reports (stream NCO_REPORTS)
 * - `nco.dev.<hostId>.cmd.<verb>` NCO → device commands (request/reply)
 * - `nco.dev.<hostId>.evt.<kind>` device → NCO incidents
 * - `nco.cmd.<area>.<verb>`       operator → NCO commands and queries (request/reply)
 * - `nco.evt.<area>.<kind>`       NCO service events (stream NCO_EVENTS)
 *
 * Everything a device may touch sits under `nco.dev.<hostId>.>`, so one permission rule confines it.
 */
export const Subjects = {
  device: {
    checkin: defineRequest({
      type: 'dca.checkin',
      subject: 'nco.checkin',
      body: CheckinBody,
      reply: CheckinReply,
      maxBytes: 4096,
    }),
    report: defineEvent<HostParams, typeof ReportBody>({
      type: 'dca.report',
      subject: 'nco.dev.{hostId}.report',
      body: ReportBody,
      maxBytes: 512 * 1024,
    }),
    requestReport: defineRequest<HostParams, typeof EmptyBody, typeof ReportBody>({
      type: 'dca.cmd.report',
      subject: 'nco.dev.{hostId}.cmd.report',
      body: EmptyBody,
      reply: ReportBody,
    }),
    symvers: defineRequest<HostParams, typeof EmptyBody, typeof SymversReply>({
      type: 'dca.cmd.symvers',
      subject: 'nco.dev.{hostId}.cmd.symvers',
      body: EmptyBody,
      reply: SymversReply,
      timeoutMs: 5_000,
    }),
    install: defineRequest<HostParams, typeof InstallCommand, typeof KernelResult>({
      type: 'dca.cmd.install',
      subject: 'nco.dev.{hostId}.cmd.install',
      body: InstallCommand,
      reply: KernelResult,
      maxBytes: 8 * 1024 * 1024,
      timeoutMs: 15_000,
    }),
    toggle: defineRequest<HostParams, typeof ToggleCommand, typeof KernelResult>({ type: 'dca.cmd.toggle', subject: 'nco.dev.{hostId}.cmd.toggle', body: ToggleCommand, reply: KernelResult }),
    priority: defineRequest<HostParams, typeof PriorityCommand, typeof KernelResult>({ type: 'dca.cmd.priority', subject: 'nco.dev.{hostId}.cmd.priority', body: PriorityCommand, reply: KernelResult }),
    deprecate: defineRequest<HostParams, typeof ModuleCommand, typeof KernelResult>({ type: 'dca.cmd.deprecate', subject: 'nco.dev.{hostId}.cmd.deprecate', body: ModuleCommand, reply: KernelResult }),
    revoke: defineRequest<HostParams, typeof ModuleCommand, typeof KernelResult>({ type: 'dca.cmd.revoke', subject: 'nco.dev.{hostId}.cmd.revoke', body: ModuleCommand, reply: KernelResult }),
    /** Middlebox mode: write / delete one inverse module file (deploy-svc keeps them in step with deployments). */
    inverseInstall: defineRequest<HostParams, typeof InverseInstallCommand, typeof InverseResult>({
      type: 'dca.cmd.inverse.install',
      subject: 'nco.dev.{hostId}.cmd.inverse.install',
      body: InverseInstallCommand,
      reply: InverseResult,
      maxBytes: 512 * 1024,
      timeoutMs: 15_000,
    }),
    inverseRemove: defineRequest<HostParams, typeof InverseRemoveCommand, typeof InverseResult>({ type: 'dca.cmd.inverse.remove', subject: 'nco.dev.{hostId}.cmd.inverse.remove', body: InverseRemoveCommand, reply: InverseResult }),
    /** Security challenge of one module (docs/security.md); security-svc sends it, the module's key answers. */
    challenge: defineRequest<HostParams, typeof ChallengeCommand, typeof ChallengeAnswer>({ type: 'dca.cmd.challenge', subject: 'nco.dev.{hostId}.cmd.challenge', body: ChallengeCommand, reply: ChallengeAnswer }),
    incident: defineEvent<HostParams, typeof DeviceIncident>({
      type: 'dca.incident',
      subject: 'nco.dev.{hostId}.evt.incident',
      body: DeviceIncident,
    }),
  },
  cmd: {
    hostsList: defineRequest({
      type: 'nco.cmd.hosts.list',
      subject: 'nco.cmd.hosts.list',
      body: HostsListBody,
      reply: HostsListReply,
      maxBytes: 256 * 1024,
      timeoutMs: 10_000,
    }),
    catalogList: defineRequest({ type: 'nco.cmd.catalog.list', subject: 'nco.cmd.catalog.list', body: EmptyBody, reply: CatalogListReply }),
    catalogAdd: defineRequest({
      type: 'nco.cmd.catalog.add',
      subject: 'nco.cmd.catalog.add',
      body: CatalogAddBody,
      reply: CatalogAddReply,
      maxBytes: 900 * 1024,
    }),
    build: defineRequest({
      type: 'nco.cmd.build',
      subject: 'nco.cmd.build',
      body: BuildRequestBody,
      reply: OperationAccepted,
      maxBytes: 1024 * 1024,
      timeoutMs: 30_000,
    }),
    buildsList: defineRequest({ type: 'nco.cmd.builds.list', subject: 'nco.cmd.builds.list', body: BuildsListBody, reply: BuildsListReply }),
    devicesList: defineRequest({ type: 'nco.cmd.devices.list', subject: 'nco.cmd.devices.list', body: DevicesListBody, reply: DevicesListReply, maxBytes: 1024 * 1024 }),
    devicesApprove: defineRequest({ type: 'nco.cmd.devices.approve', subject: 'nco.cmd.devices.approve', body: DeviceSelectBody, reply: DeviceChangeReply }),
    devicesRevoke: defineRequest({ type: 'nco.cmd.devices.revoke', subject: 'nco.cmd.devices.revoke', body: DeviceSelectBody, reply: DeviceChangeReply }),
    keysRewrap: defineRequest({ type: 'nco.cmd.keys.rewrap', subject: 'nco.cmd.keys.rewrap', body: EmptyBody, reply: KeysRewrapReply, timeoutMs: 120_000 }),
    deploy: defineRequest({ type: 'nco.cmd.deploy', subject: 'nco.cmd.deploy', body: DeployBody, reply: OperationAccepted, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
    rotate: defineRequest({ type: 'nco.cmd.rotate', subject: 'nco.cmd.rotate', body: RotateBody, reply: OperationAccepted, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
    toggle: defineRequest({ type: 'nco.cmd.toggle', subject: 'nco.cmd.toggle', body: ToggleBody, reply: OperationAccepted, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
    priority: defineRequest({ type: 'nco.cmd.priority', subject: 'nco.cmd.priority', body: PriorityBody, reply: OperationAccepted, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
    deprecate: defineRequest({ type: 'nco.cmd.deprecate', subject: 'nco.cmd.deprecate', body: DeprecateBody, reply: OperationAccepted, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
    revoke: defineRequest({ type: 'nco.cmd.revoke', subject: 'nco.cmd.revoke', body: RevokeBody, reply: OperationAccepted, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
    hostsLabel: defineRequest({ type: 'nco.cmd.hosts.label', subject: 'nco.cmd.hosts.label', body: LabelBody, reply: LabelReply, maxBytes: 1024 * 1024 }),
    hostModules: defineRequest({ type: 'nco.cmd.hosts.modules', subject: 'nco.cmd.hosts.modules', body: HostModulesBody, reply: HostModulesReply, maxBytes: 4096 }),
    operationsList: defineRequest({ type: 'nco.cmd.operations.list', subject: 'nco.cmd.operations.list', body: OperationsListBody, reply: z.object({ operations: z.array(OperationSummary) }) }),
    operationGet: defineRequest({ type: 'nco.cmd.operations.get', subject: 'nco.cmd.operations.get', body: OperationGetBody, reply: OperationDetail, maxBytes: 1024 * 1024 }),
    middleboxesList: defineRequest({ type: 'nco.cmd.middleboxes.list', subject: 'nco.cmd.middleboxes.list', body: MiddleboxesListBody, reply: MiddleboxesListReply, maxBytes: 4096 }),
    inverseLink: defineRequest({ type: 'nco.cmd.inverse.link', subject: 'nco.cmd.inverse.link', body: InverseLinkBody, reply: InverseLinkReply, maxBytes: 512 * 1024 }),
    inverseUnlink: defineRequest({ type: 'nco.cmd.inverse.unlink', subject: 'nco.cmd.inverse.unlink', body: InverseUnlinkBody, reply: InverseUnlinkReply }),
  },
  /** Service-to-service requests; devices and operators have no permission here. */
  svc: {
    keysIssue: defineRequest({ type: 'nco.svc.keys.issue', subject: 'nco.svc.keys.issue', body: KeysIssueBody, reply: KeysReply, maxBytes: 1024, timeoutMs: 30_000 }),
    keysGet: defineRequest({ type: 'nco.svc.keys.get', subject: 'nco.svc.keys.get', body: KeysGetBody, reply: KeysReply, maxBytes: 1024 * 1024, timeoutMs: 30_000 }),
  },
  evt: {
    hostRegistered: defineEvent({ type: 'host.registered', subject: 'nco.evt.host.registered', body: HostRegisteredBody }),
    hostChanged: defineEvent({ type: 'host.changed', subject: 'nco.evt.host.changed', body: HostChangedBody }),
    hostOnline: defineEvent({ type: 'host.online', subject: 'nco.evt.host.online', body: HostLivenessBody }),
    hostOffline: defineEvent({ type: 'host.offline', subject: 'nco.evt.host.offline', body: HostLivenessBody }),
    finding: defineEvent({ type: 'reconcile.finding', subject: 'nco.evt.reconcile.finding', body: ReconcileFindingBody }),
    buildSucceeded: defineEvent({ type: 'build.succeeded', subject: 'nco.evt.build.succeeded', body: BuildEventBody }),
    buildFailed: defineEvent({ type: 'build.failed', subject: 'nco.evt.build.failed', body: BuildEventBody }),
    /** Pending device work was written (kinds listed): dispatchers of those kinds look for it now. */
    pendingWork: defineEvent({ type: 'pending.work', subject: 'nco.evt.pending.work', body: z.object({ kinds: z.array(z.string()), hostIds: z.array(z.number()).max(100_000).optional() }) }),
    /** A deployment failed its security challenge; its revoke is pending (security-svc). */
    challengeFailed: defineEvent({ type: 'security.challenge.failed', subject: 'nco.evt.security.challenge.failed', body: ChallengeFailedBody }),
    operationProgress: defineEvent({ type: 'operation.progress', subject: 'nco.evt.operation.progress', body: OperationProgressBody }),
  },
} as const;

/** Durable streams: what a dashboard subscribes to and replays. */
export const Streams = {
  reports: {
    name: 'NCO_REPORTS',
    subjects: ['nco.dev.*.report'],
    maxAgeMs: 24 * 3600_000,
    maxBytes: 2 * 1024 ** 3,
  },
  events: {
    name: 'NCO_EVENTS',
    subjects: ['nco.evt.>', 'nco.dev.*.evt.>'],
    maxAgeMs: 7 * 24 * 3600_000,
    maxBytes: 1024 ** 3,
  },
} as const;

/** Queue groups: one per service, so replicas share work and each message is handled once. */
export const QueueGroups = {
  orchestrator: 'orchestrator',
  construct: 'construct-svc',
  deploy: 'deploy-svc',
  revoke: 'revoke-svc',
  monitor: 'monitor-svc',
  security: 'security-svc',
} as const;

/** Durable JetStream consumers. */
export const Consumers = {
  monitorReports: { stream: Streams.reports.name, durable: 'monitor-reconcile' },
} as const;

export type AnyBody = z.ZodType;
