#!/usr/bin/env node
// Writes docs/subjects.md from the contracts themselves (libs/events: Subjects, Streams,
// QueueGroups, the envelope and error schemas), so the map cannot drift from the code:
//
//   npm run build && node docs/subjects.gen.mjs
//
// Who sends and who answers each subject is not in the contracts; it is the ROLES table below.
// A subject missing there is printed with "?" so a new one shows up in review.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const ev = require(join(ROOT, 'dist/libs/events/src'));
const { z } = require('zod');

/** contract key → [sender, receiver(s)]; services by app name. */
const ROLES = {
  'device.checkin': ['DCA', 'orchestrator'],
  'device.report': ['DCA', 'monitor-svc (durable consumer), `nco watch`'],
  'device.requestReport': ['NCO services', 'DCA'],
  'device.symvers': ['construct-svc', 'DCA'],
  'device.install': ['deploy-svc', 'DCA'],
  'device.toggle': ['deploy-svc', 'DCA'],
  'device.priority': ['deploy-svc', 'DCA'],
  'device.deprecate': ['revoke-svc', 'DCA'],
  'device.revoke': ['revoke-svc', 'DCA'],
  'device.inverseInstall': ['deploy-svc', 'DCA (middlebox mode)'],
  'device.inverseRemove': ['deploy-svc', 'DCA (middlebox mode)'],
  'device.challenge': ['security-svc', 'DCA'],
  'device.incident': ['DCA', 'stream only (dashboards, `nco watch`)'],
  'cmd.hostsList': ['operator', 'orchestrator'],
  'cmd.catalogList': ['operator', 'construct-svc'],
  'cmd.catalogAdd': ['operator', 'construct-svc'],
  'cmd.build': ['operator, orchestrator', 'construct-svc'],
  'cmd.buildsList': ['operator', 'construct-svc'],
  'cmd.keysRewrap': ['operator', 'security-svc'],
  'cmd.devicesList': ['operator', 'orchestrator'],
  'cmd.devicesApprove': ['operator', 'orchestrator'],
  'cmd.devicesRevoke': ['operator', 'orchestrator'],
  'cmd.deploy': ['operator', 'orchestrator'],
  'cmd.rotate': ['operator', 'orchestrator'],
  'cmd.toggle': ['operator', 'deploy-svc'],
  'cmd.priority': ['operator', 'deploy-svc'],
  'cmd.deprecate': ['operator', 'revoke-svc'],
  'cmd.revoke': ['operator', 'revoke-svc'],
  'cmd.hostsLabel': ['operator', 'orchestrator'],
  'cmd.hostModules': ['operator', 'orchestrator'],
  'cmd.operationsList': ['operator', 'orchestrator'],
  'cmd.operationGet': ['operator', 'orchestrator'],
  'cmd.middleboxesList': ['operator', 'deploy-svc'],
  'cmd.inverseLink': ['operator', 'deploy-svc'],
  'cmd.inverseUnlink': ['operator', 'deploy-svc'],
  'svc.keysIssue': ['construct-svc', 'security-svc'],
  'svc.keysGet': ['NCO services', 'security-svc'],
  'evt.hostRegistered': ['orchestrator', 'construct-svc, dashboards'],
  'evt.hostChanged': ['orchestrator', 'construct-svc, dashboards'],
  'evt.hostOnline': ['orchestrator, monitor-svc', 'construct-svc, dashboards'],
  'evt.hostOffline': ['monitor-svc', 'dashboards'],
  'evt.finding': ['monitor-svc', 'dashboards'],
  'evt.buildSucceeded': ['construct-svc', 'dashboards'],
  'evt.buildFailed': ['construct-svc', 'dashboards'],
  'evt.pendingWork': ['orchestrator, construct-svc, monitor-svc (middlebox holdings)', 'deploy-svc, revoke-svc (dispatchers, inverse reconcile)'],
  'evt.challengeFailed': ['security-svc', 'dashboards, `nco watch`'],
  'evt.operationProgress': ['orchestrator, construct-svc, monitor-svc', 'dashboards'],
};

// ---- schema → short text ------------------------------------------------------------------

function jsonSchema(schema) {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

function typeText(s, depth = 0) {
  if (!s || Object.keys(s).length === 0) return 'any';
  if (s.anyOf || s.oneOf) {
    const parts = [...new Set((s.anyOf ?? s.oneOf).map((x) => typeText(x, depth)))];
    return parts.join(' \\| ');
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((x) => JSON.stringify(x)).join(' \\| ');
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  switch (s.type) {
    case 'array':
      return `${wrap(typeText(s.items, depth))}[]`;
    case 'object':
      if (s.properties) return `{${objectText(s, depth + 1)}}`;
      if (s.additionalProperties && typeof s.additionalProperties === 'object') return `{key: ${typeText(s.additionalProperties, depth)}}`;
      return 'object';
    case 'string':
      return s.format === 'date-time' ? 'ISO time' : s.format === 'uuid' ? 'uuid' : s.format ? `string (${s.format})` : 'string';
    case 'integer':
      return 'int';
    default:
      return s.type ?? 'any';
  }
}

const wrap = (t) => (t.includes('\\|') ? `(${t})` : t);

/** `a: int, b?: string` (no braces: callers add them where the object is nested). */
function objectText(s, depth = 0) {
  const req = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {})
    .map(([k, v]) => `${k}${req.has(k) ? '' : '?'}: ${typeText(v, depth)}`)
    .join(', ');
}

function fieldsOf(schema) {
  const s = jsonSchema(schema);
  const text = s.type === 'object' && s.properties ? objectText(s) : typeText(s);
  return text === '' ? '(empty)' : text;
}

const kb = (n) => (n >= 1024 * 1024 ? `${n / (1024 * 1024)} MB` : `${n / 1024} KB`);
const streamOf = (pattern) =>
  Object.values(ev.Streams).find((st) =>
    st.subjects.some((p) => {
      const re = new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '[^.]+').replace(/>/g, '.+')}$`);
      return re.test(pattern.replace(/\*/g, 'X'));
    }),
  )?.name;

function rows(group) {
  const out = [];
  for (const [key, c] of Object.entries(ev.Subjects[group])) {
    const [from, to] = ROLES[`${group}.${key}`] ?? ['?', '?'];
    const subject = c.pattern.replace('nco.dev.*', 'nco.dev.<hostId>');
    const limits = c.kind === 'request' ? `${kb(c.maxBytes)}, ${c.timeoutMs / 1000} s` : kb(c.maxBytes);
    out.push(
      `| \`${subject}\` | ${from} → ${to} | \`${c.type}\` | ${c.kind === 'request' ? `request → \`${c.replyType}\`` : 'event'} | ${streamOf(c.pattern) ?? '-'} | ${fieldsOf(c.body)} | ${c.reply ? fieldsOf(c.reply) : '-'} | ${limits} |`,
    );
  }
  return out;
}

const HEAD = ['| subject | from → to | type | kind | stream | body | reply | limits |', '|---|---|---|---|---|---|---|---|'];

const ERRORS = {
  invalid_message: 'not JSON, too large, wrong envelope or body (the message names the field)',
  invalid_request: 'well-formed, but refused by a business rule',
  not_found: 'what the request names does not exist',
  conflict: 'the request contradicts the current state',
  unavailable: 'a dependency (database, device) or the service itself could not be reached; retry later',
  timeout: 'no answer in time (raised by the caller)',
  internal: 'a bug; the details are in the service log, not in the reply',
};

const ENVELOPE = {
  v: 'envelope version, always 1',
  id: 'unique message id; also the JetStream de-duplication id (`Nats-Msg-Id`) of durable publishes',
  type: 'message type, e.g. `dca.report`; replies are `<type>.reply`, errors `error`',
  issuedAt: 'sender clock, ISO 8601 with offset',
  operationId: 'the operation a message belongs to (traces a command through every service)',
  hostId: 'the host a message is about or from',
  nonce: 'replay protection for signed commands',
  sig: '`{kid, alg, value}`: Ed25519 signature (commands, device messages) or, for reports, HMAC-SHA256 under the device report key (docs/security.md)',
};

function envelopeRows() {
  const s = jsonSchema(ev.EnvelopeHeaderSchema);
  const req = new Set(s.required ?? []);
  return Object.entries(s.properties).map(([k, v]) => `| \`${k}\` | ${typeText(v)} | ${req.has(k) ? 'yes' : 'no'} | ${ENVELOPE[k] ?? ''} |`);
}

const day = (ms) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : `${ms / 3_600_000} h`);
const gb = (b) => `${b / 1024 ** 3} GB`;

const md = `# Subjects and messages

<!-- Generated by \`node docs/subjects.gen.mjs\` (after \`npm run build\`) from libs/events. Do not edit by hand; edit the contracts or the generator. -->

Every message that crosses NATS is an **envelope** with a typed **body**, validated with zod on
both sides against the contract in \`libs/events/src/subjects.ts\` (\`Subjects\`): size first,
then JSON, then envelope, then body. A malformed request gets an \`error\` reply and never
reaches a handler; a malformed event is logged and dropped (\`nco watch\` shows it as
\`malformed: <reason>\`).

## Naming

| pattern | who | what |
|---|---|---|
| \`nco.checkin\` | device → NCO | check-in, before the device has a host id |
| \`nco.dev.<hostId>.report\` | device → NCO | reports (stream NCO_REPORTS) |
| \`nco.dev.<hostId>.cmd.<verb>\` | NCO → device | commands, request/reply |
| \`nco.dev.<hostId>.evt.<kind>\` | device → NCO | incidents (stream NCO_EVENTS) |
| \`nco.cmd.<area>.<verb>\` | operator → NCO | commands and queries, request/reply (the \`nco\` CLI) |
| \`nco.svc.<area>.<verb>\` | service → service | internal requests; devices and operators have no permission here |
| \`nco.evt.<area>.<kind>\` | NCO → anyone | service events (stream NCO_EVENTS) |

Everything a device may publish or subscribe to sits under \`nco.dev.<hostId>.>\` (plus
\`nco.checkin\` and its reply inbox), so one permission rule per device confines it to itself.

## Envelope

| field | type | required | meaning |
|---|---|---|---|
${envelopeRows().join('\n')}
| \`body\` | per type (below) | yes | the message itself |

Tables below: *from → to* is who sends and who answers or consumes; *limits* is the largest
message the contract accepts and, for requests, how long the caller waits. NATS itself refuses
messages above its \`max_payload\` (1 MB by default), whatever the contract allows.

## Device subjects

${[...HEAD, ...rows('device')].join('\n')}

## Operator commands and queries

Commands that change state answer at once with \`{operationId, targetCount}\`; progress is the
\`operation.progress\` event and the operation's row in the CIB (\`nco.cmd.operations.get\`).
\`target\` is exactly one of \`hostIds\`, \`labels\` (all must match) or \`all: true\`.

${[...HEAD, ...rows('cmd')].join('\n')}

## Service-to-service requests

${[...HEAD, ...rows('svc')].join('\n')}

## Events

${[...HEAD, ...rows('evt')].join('\n')}

## Streams

| stream | subjects | kept | consumers |
|---|---|---|---|
${Object.values(ev.Streams)
  .map((s) => `| ${s.name} | ${s.subjects.map((x) => `\`${x}\``).join(', ')} | ${day(s.maxAgeMs)} or ${gb(s.maxBytes)} | ${Object.values(ev.Consumers).filter((c) => c.stream === s.name).map((c) => `durable \`${c.durable}\``).concat('ordered consumers of `nco watch` and dashboards').join('; ')} |`)
  .join('\n')}

Streams are created or updated to match the code by every service at start (\`ensureStreams\`).

## Queue groups

One per service, so replicas share requests and each is handled once:
${Object.values(ev.QueueGroups).map((q) => `\`${q}\``).join(', ')}.

## Errors

A request that fails is answered with an envelope of type \`error\` and the body
\`{code, message, details?}\`; \`NatsBus.request\` raises it again as an \`NcoError\` with the same
code, and \`nco\` prints \`nco: <code>: <message>\` and exits 1. A request nobody serves fails at
once with \`unavailable\` (NATS "no responders"); one that is not answered within the contract's
timeout fails with \`timeout\`.

| code | meaning |
|---|---|
${ev.ErrorCode.options.map((c) => `| \`${c}\` | ${ERRORS[c] ?? ''} |`).join('\n')}
`;

writeFileSync(join(ROOT, 'docs/subjects.md'), md);
process.stdout.write('wrote docs/subjects.md\n');
