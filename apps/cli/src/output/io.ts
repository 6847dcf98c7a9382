/** Where a command writes: stdout for its result, stderr for notes and errors. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress is drawn in place instead of printed line by line. */
  errIsTTY?: boolean;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  errIsTTY: Boolean(process.stderr.isTTY),
};

/** Collects output in memory (unit tests). */
export function memoryOutput(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (text: string) => void (o.stdout += text),
    err: (text: string) => void (o.stderr += text),
  };
  return o;
}
