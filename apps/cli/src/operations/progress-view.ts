import { SingleBar } from 'cli-progress';
import { OperationSummary } from '@nco/events';
import { Output } from '../output/io';

/** Shows an operation's progress while the CLI waits for it. */
export interface ProgressView {
  update(op: OperationSummary): void;
  stop(): void;
}

const settledOf = (op: OperationSummary) => op.succeeded + op.failed;
const shortId = (id: string) => id.slice(0, 8);

/** Nothing (--json, --quiet): stdout stays one JSON document. */
export const silentView: ProgressView = { update: () => undefined, stop: () => undefined };

/** A bar redrawn in place on the terminal (cli-progress draws on the TTY stream itself). */
export function barView(): ProgressView {
  let bar: SingleBar | undefined;
  return {
    update(op) {
      const payload = { kind: op.kind, ok: op.succeeded, failed: op.failed, status: op.status };
      if (!bar) {
        bar = new SingleBar(
          {
            format: `{kind} ${shortId(op.id)} [{bar}] {value}/{total} hosts | ok {ok} failed {failed} | {status}`,
            stream: process.stderr,
            hideCursor: true,
            barsize: 30,
          },
        );
        bar.start(op.targetCount, settledOf(op), payload);
      }
      bar.setTotal(op.targetCount);
      bar.update(settledOf(op), payload);
    },
    stop() {
      bar?.stop();
    },
  };
}

/** One line per change, at most every `everyMs` (pipes, CI logs), and always the last one. */
export function lineView(output: Output, everyMs = 1_000, now: () => number = Date.now): ProgressView {
  let last = '';
  let lastAt = Number.NEGATIVE_INFINITY;
  let pending: OperationSummary | undefined;
  const print = (op: OperationSummary) => {
    output.err(`${op.kind} ${shortId(op.id)}: ${settledOf(op)}/${op.targetCount} hosts settled (${op.succeeded} ok, ${op.failed} failed), ${op.status}\n`);
    lastAt = now();
    pending = undefined;
  };
  return {
    update(op) {
      const line = `${op.succeeded}/${op.failed}/${op.targetCount}/${op.status}`;
      if (line === last) return;
      last = line;
      if (now() - lastAt >= everyMs || op.pending === 0) print(op);
      else pending = op;
    },
    stop() {
      if (pending) print(pending);
    },
  };
}

export function progressViewFor(output: Output, quiet: boolean): ProgressView {
  if (quiet) return silentView;
  return output.errIsTTY ? barView() : lineView(output);
}
