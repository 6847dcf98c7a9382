import { dirname, join } from 'node:path';
import ts from 'typescript';
import { K8sObject } from './kustomize';
import { REPO } from './repo';

/**
 * Validation against the Kubernetes API schemas, two ways, both from the OpenAPI definitions
 * of the Kubernetes API as packaged by kubernetes-models:
 *  1. types, formats, required fields, enums: each object through its model's validate()
 *     (ajv validators generated from the OpenAPI schema);
 *  2. unknown fields (a misspelt `readinesProbe` passes 1, since the OpenAPI schemas allow
 *     extra properties): the object as a TypeScript literal of the model's interface, where
 *     the compiler's excess-property check names every field the API does not have.
 */

/** `apps/v1` + `Deployment` → `kubernetes-models/apps/v1/Deployment`. */
function modelPath(o: K8sObject): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`;
}

const label = (o: K8sObject) => `${o.kind}/${o.metadata?.name}`;

/**
 * kustomize wraps the base64 of long Secret values over several lines; the API server decodes
 * with Go's base64, which skips line breaks, while the `byte` format of the validators does not.
 */
function asTheApiServerReadsIt(o: K8sObject): K8sObject {
  if (o.kind !== 'Secret' || !o.data) return o;
  const data = Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]));
  return { ...o, data };
}

/** Problems found by the OpenAPI validators, one string per object that fails. */
export function openApiProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    let Model: new (data: unknown) => { validate(): void };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      Model = require(modelPath(o))[o.kind];
    } catch {
      problems.push(`${label(o)}: ${o.apiVersion} ${o.kind} is not a Kubernetes API kind`);
      continue;
    }
    try {
      new Model(asTheApiServerReadsIt(o)).validate();
    } catch (e) {
      problems.push(`${label(o)}: ${(e as Error).message}`);
    }
  }
  return problems;
}

/** Problems found by type-checking every object as a literal of its kind's interface. */
export function unknownFieldProblems(objects: K8sObject[]): string[] {
  // A virtual file inside the repository, so `kubernetes-models` resolves from node_modules.
  const file = join(REPO, 'test', 'deploy', '__rendered_objects__.ts');
  const lines: string[] = [];
  objects.forEach((o, i) => {
    lines.push(`import type { I${o.kind} as T${i} } from ${JSON.stringify(modelPath(o))};`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o)}; // ${label(o)}`);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, source, lang) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  host.getCurrentDirectory = () => dirname(file);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const which = line >= 0 ? (source.split('\n')[line].match(/\/\/ (.*)$/)?.[1] ?? '') : '';
    return `${which}: ${text}`;
  });
}
