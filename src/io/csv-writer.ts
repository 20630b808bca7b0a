// The one writer of the CSV files low-ts writes (metrics.csv, class-weights.csv, summary.csv), as
// RFC 4180 has them: a field holding a comma, a double quote, CR or LF goes in double quotes with
// its quotes doubled; records end in LF, which every reader takes. A class named `plain,comma`
// used to be written bare and so split into two cells for every reader.
export type CsvValue = string | number;

/**
 * One field; numbers as String() writes them. Leading or trailing blanks are quoted too: readers
 * (ours, src/data/csv.ts) trim unquoted fields.
 */
export function csvField(value: CsvValue): string {
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, without its line break. */
export function csvRecord(values: readonly CsvValue[]): string {
  return values.map(csvField).join(',');
}

/** A whole file: the header, then one record per row, each ending in a line break. */
export function csvText(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return `${[header, ...rows].map(csvRecord).join('\n')}\n`;
}
