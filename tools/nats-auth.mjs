// `npm run nats-auth -- <command>`: NATS decentralized JWT auth for the NCO (docs/security.md,
// "NATS permissions"). Runs the compiled code in dist/ (npm run build first).
//   init <dir> [--resolver-dir <path>]       operator, accounts, signing key, auth.conf, role creds
//   device <dir> <hostId> [--public-key U…]  a device's JWT (its own key) or creds (a generated key)
//   revoke <dir> <hostId|U…>... [--server <url>]  revoke devices; with --server, push it to the server now
//   keys <dir>                               the public keys
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const USAGE = `usage: npm run nats-auth -- init <dir> [--resolver-dir <path>]
       npm run nats-auth -- device <dir> <hostId> [--public-key U...]
       npm run nats-auth -- revoke <dir> <hostId|U...>... [--server nats://host:4222]
       npm run nats-auth -- keys <dir>
`;

function fail(message, code = 2) {
  process.stderr.write(`nats-auth: ${message}\n`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { 'resolver-dir': { type: 'string' }, 'public-key': { type: 'string' }, server: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
const { values, positionals } = parsed;
const [command, dir, ...rest] = positionals;
if (values.help || !command) {
  process.stdout.write(USAGE);
  process.exit(command || values.help ? 0 : 2);
}
if (!dir) fail(`${command}: which directory?\n${USAGE}`);

let lib;
try {
  lib = require('../dist/libs/events/src/security/nats-auth-dir.js');
} catch {
  fail('dist/ is missing or stale: run `npm run build` first', 1);
}
const { loadNatsAuth } = lib;
const { natsAuthPublicKeys } = require('../dist/libs/events/src/security/nats-auth.js');

try {
  switch (command) {
    case 'init': {
      const { files, keys } = await lib.initNatsAuthDir(dir, { resolverDir: values['resolver-dir'] });
      process.stdout.write(`operator ${keys.operator}\nNCO account ${keys.account} (signing key ${keys.accountSigningKey})\nsystem account ${keys.systemAccount}\n`);
      process.stdout.write(`wrote:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
      process.stdout.write(`${dir}/nats-auth.json and creds/ are secrets (0600); auth.conf is what nats-server includes.\n`);
      break;
    }
    case 'device': {
      const hostId = Number(rest[0]);
      if (!Number.isSafeInteger(hostId) || hostId < 0) fail(`device: host id must be a non-negative integer (got "${rest[0] ?? ''}")`);
      const r = await lib.issueDeviceInDir(dir, hostId, values['public-key']);
      if (r.credsPath) process.stdout.write(`device ${hostId}: user ${r.publicKey}\nwrote ${r.credsPath}\n`);
      else process.stdout.write(`${r.jwt}\n`);
      break;
    }
    case 'revoke': {
      if (rest.length === 0) fail('revoke: which devices (host ids or user public keys)?');
      const r = await lib.revokeInDir(dir, rest, { servers: values.server });
      process.stdout.write(`revoked ${r.revoked.join(', ')}\n`);
      process.stdout.write(r.pushed ? 'the server applied the account update: revoked devices are disconnected\n' : 'recorded in auth.conf only: pass --server <url> to shut them out of a running server now\n');
      break;
    }
    case 'keys':
      process.stdout.write(`${JSON.stringify(natsAuthPublicKeys(loadNatsAuth(dir)), null, 2)}\n`);
      break;
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
} catch (e) {
  fail(e.message, 1);
}
