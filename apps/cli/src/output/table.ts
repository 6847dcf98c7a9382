import Table from 'cli-table3';

/** No borders, two spaces between columns, no colours: reads like `kubectl get`, greps cleanly. */
const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: '  ',
};

export type Cell = string | number;

/** A table of `head` and `rows` as text (one line per row, ending in a newline). */
export function renderTable(head: string[], rows: Cell[][]): string {
  const table = new Table({
    head,
    chars: PLAIN_CHARS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  for (const row of rows) table.push(row.map((c) => String(c)));
  // cli-table3 pads the last column too; trailing blanks only get in the way of diff and grep.
  return `${table.toString().split('\n').map((l) => l.trimEnd()).join('\n')}\n`;
}
