// Docker prints tables with Go's text/tabwriter (minwidth 10, padding 3):
// every cell but the last in a row is padded to its column's width.
export function tabwrite(rows: string[][], minWidth = 10, padding = 3): string {
  const widths: number[] = [];
  const len = (s: string): number => [...s].length;
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, len(cell) + padding, minWidth);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell + ' '.repeat(widths[i]! - len(cell)) : cell)).join('')).join('\n') + (rows.length ? '\n' : '');
}
