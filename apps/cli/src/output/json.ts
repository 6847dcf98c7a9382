/** A whole result as indented JSON (`--json` of one-shot commands). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** One value per line (`--json` of streaming commands: NDJSON). */
export function toJsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
