import { readFileSync } from 'node:fs';
import { DataError } from './dataset.js';

/** One data row of a CSV file, with its 1-based line number for error messages. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** A CSV file: header and data rows. */
export interface CsvTable {
  path: string;
  header: string[];
  rows: CsvRow[];
}

/**
 * Reads a plain CSV file with a header line: comma-separated fields, no quoting (as the
 * ISIC ground-truth files are). A quote character is rejected rather than half-parsed.
 * Fields are trimmed; blank lines, a UTF-8 byte-order mark and CRLF line ends are accepted.
 */
export function readCsv(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`} (expected a CSV file)`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let header: string[] | undefined;
  const rows: CsvRow[] = [];
  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '') return;
    if (text.includes('"')) {
      throw new DataError(`${path} line ${line}: quoted fields are not supported (expected plain comma-separated values)`);
    }
    const fields = text.split(',').map((field) => field.trim());
    if (header === undefined) {
      header = fields;
    } else if (fields.length !== header.length) {
      throw new DataError(`${path} line ${line}: ${fields.length} fields, expected ${header.length} (${header.join(',')})`);
    } else {
      rows.push({ line, fields });
    }
  });
  if (header === undefined) throw new DataError(`${path}: empty file, expected a header line`);
  return { path, header, rows };
}

/** Index of the column named `name`; a DataError naming the file and the header if absent. */
export function columnIndex(table: CsvTable, name: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) {
    throw new DataError(`${table.path} line 1: no column "${name}" in header ${table.header.join(',')}`);
  }
  return index;
}
