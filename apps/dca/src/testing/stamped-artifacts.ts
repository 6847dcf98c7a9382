import { createStamper, InstallCommand, NcoStamper, NcoVariables } from '@nco/events';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled dns-tag template (libs/events artifact fixture): module id 0, unstamped. */
export const TEMPLATE_PATH = join(__dirname, '../../../../libs/events/src/artifact/__fixtures__/dns_tag.template.ko');

let template: Buffer | undefined;
let stamper: NcoStamper | undefined;

export function templateKo(): Buffer {
  template ??= readFileSync(TEMPLATE_PATH);
  return Buffer.from(template);
}

/** A deterministic key per module id (tests): 64 hex digits. */
export function testKey(moduleId: number, salt = 0): string {
  return createHash('sha256').update(`key-${moduleId}-${salt}`).digest('hex');
}

/** A real stamped module, as the NCO would ship it: the template with `vars` in its NCO block. */
export function stampedKo(vars: Partial<NcoVariables> & { moduleId: number }): Buffer {
  stamper ??= createStamper(templateKo());
  return stamper.stamp({ hexKey: testKey(vars.moduleId), activate: 1, priority: vars.moduleId, applyNow: false, ...vars });
}

/** The install command body for an artifact. */
export function installCommand(ko: Buffer, moduleId: number, params: InstallCommand['params'] = {}): InstallCommand {
  return { moduleId, size: ko.length, sha256: createHash('sha256').update(ko).digest('hex'), artifactBase64: ko.toString('base64'), params };
}
