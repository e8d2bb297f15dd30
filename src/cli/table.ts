/**
 * Left-aligned columns separated by two spaces; widths from the widest cell. `style` decorates a cell
 * after padding, so colour codes never skew the alignment.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  style?: (row: number, column: number, padded: string) => string,
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[], row: number): string =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
        return row >= 0 && style !== undefined ? style(row, i, padded) : padded;
      })
      .join("  ")
      .trimEnd();
  return [line(header, -1), ...rows.map((r, i) => line(r, i))];
}
