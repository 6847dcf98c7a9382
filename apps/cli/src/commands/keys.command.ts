import { Command } from 'commander';
import { generateSigningKey, KEY_ID, parseSigningKey, publicSpecOf, Subjects } from '@nco/events';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CliContext, withConnection } from '../context';
import { toJson } from '../output/json';
import { ask } from '../requests';

/**
 * `nco keys`: the NCO's keys (docs/security.md, "Rotating keys").
 *   signing generate --kid <id> --out <file>   a new command-signing key (file 0600); prints its DCA_TRUSTED_KEYS entry
 *   signing public <file>                      the DCA_TRUSTED_KEYS entry of a signing key file
 *   rewrap                                     security-svc re-wraps every module key under the current NCO_KEK
 */
export function keysCommand(ctx: CliContext): Command {
  const keys = new Command('keys').description('NCO keys: command-signing key rotation, module-key re-wrap (docs/security.md)');
  const signing = keys.command('signing').description('the Ed25519 key the NCO signs device commands with');

  signing
    .command('generate')
    .description('create a new signing key in a file (mode 0600) and print the entry devices must trust (DCA_TRUSTED_KEYS)')
    .requiredOption('--kid <id>', 'key id, e.g. nco-2026-11 (letters, digits, . _ -)')
    .requiredOption('--out <file>', 'where to write the private key (NCO_SIGNING_KEY_FILE); an existing file is not overwritten')
    .action((o: { kid: string; out: string }) => {
      if (!KEY_ID.test(o.kid)) throw new Error(`--kid ${o.kid}: letters, digits, . _ - (1..64)`);
      if (existsSync(o.out)) throw new Error(`${o.out} exists; choose another file (a signing key is never overwritten)`);
      const key = generateSigningKey(o.kid);
      writeFileSync(o.out, `${key.privateSpec}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(o.out, 0o600);
      ctx.output.out(`${key.publicSpec}\n`);
      ctx.output.err(
        `wrote ${o.out}. Rotation: 1) add the line above to every device's DCA_TRUSTED_KEYS (keep the old key); ` +
          `2) point the services' NCO_SIGNING_KEY_FILE at ${o.out} and restart them; 3) drop the old key from DCA_TRUSTED_KEYS.\n`,
      );
    });

  signing
    .command('public <file>')
    .description('print the DCA_TRUSTED_KEYS entry (kid:base64 public key) of a signing key file')
    .action((file: string) => {
      ctx.output.out(`${publicSpecOf(parseSigningKey(readFileSync(file, 'utf8')))}\n`);
    });

  keys
    .command('rewrap')
    .description('re-wrap every module key under the current NCO_KEK (after a KEK rotation; the old KEK stays in NCO_KEK_PREVIOUS until this is done)')
    .option('--json', 'print the reply as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const reply = await withConnection(ctx, cmd, (conn, settings) => ask(conn, settings, Subjects.cmd.keysRewrap, undefined, {}, 'security-svc'));
      if (o.json) return ctx.output.out(toJson(reply));
      ctx.output.out(`re-wrapped ${reply.rewrapped} module keys under KEK ${reply.kekId}\n`);
    });
  return keys;
}
