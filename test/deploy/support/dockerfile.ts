import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './repo';

export interface Stage {
  name: string;
  from: string;
  instructions: Array<{ op: string; args: string }>;
}

/** The stages of a Dockerfile with their instructions (continuation lines joined, comments dropped). */
export function readStages(file = join(REPO, 'deploy', 'Dockerfile')): Stage[] {
  const text = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ name: name ?? String(stages.length), from, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** The user a target runs as: the last USER along its FROM chain (root when none). */
export function userOf(stages: Stage[], target: string): string {
  const stage = stages.find((s) => s.name === target);
  if (!stage) throw new Error(`no stage ${target}`);
  const own = stage.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
  if (own) return own;
  return stages.some((s) => s.name === stage.from) ? userOf(stages, stage.from) : 'root';
}

/**
 * Whether .dockerignore keeps a path (relative to the context) out of the build context:
 * patterns in order, `**` for any directories, `!` re-includes, a match covers what is below.
 */
export function dockerignore(file = join(REPO, '.dockerignore')): (path: string) => boolean {
  const rules = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      const negate = p.startsWith('!');
      const glob = (negate ? p.slice(1) : p).replace(/\/$/, '');
      const body = glob
        .split('/')
        .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(.*/)?');
      return { negate, re: new RegExp(`^${body}(/.*)?$`) };
    });
  return (path) => rules.reduce((ignored, r) => (r.re.test(path) ? !r.negate : ignored), false);
}

export function ignoredByDockerignore(path: string): boolean {
  return dockerignore()(path);
}
