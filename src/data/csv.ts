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
 * The records of CSV text as RFC 4180 defines them: comma-separated fields, records ending in CRLF
 * or LF; a field in double quotes may hold commas, quotes (doubled) and line breaks. Unquoted
 * fields are trimmed (the ISIC files pad some), quoted ones kept as written; blank lines and a
 * UTF-8 byte-order mark are skipped. A quote inside an unquoted field, text after a closing
 * quote or a quote never closed is a DataError naming `path` and the line. Each record carries
 * the line it starts on.
 */
export function parseCsv(text: string, path: string): CsvRow[] {
  const s = text.replace(/^\uFEFF/, '');
  const records: CsvRow[] = [];
  let i = 0;
  let line = 1;
  const atRecordEnd = () => i >= s.length || s[i] === '\n' || (s[i] === '\r' && s[i + 1] === '\n');
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    let quotedSeen = false;
    for (;;) {
      // One field, then a comma (another field follows) or the record's end.
      let j = i;
      while (s[j] === ' ' || s[j] === '\t') j++;
      if (s[j] === '"') {
        quotedSeen = true;
        const opened = line;
        let value = '';
        for (j++; ; j++) {
          if (j >= s.length) throw new DataError(`${path} line ${opened}: a quoted field is never closed, expected a closing double quote`);
          if (s[j] === '"') {
            if (s[j + 1] !== '"') break;
            value += '"';
            j++;
          } else {
            if (s[j] === '\n') line++;
            value += s[j];
          }
        }
        i = j + 1;
        while (s[i] === ' ' || s[i] === '\t') i++;
        if (!atRecordEnd() && s[i] !== ',') {
          throw new DataError(`${path} line ${line}: text after the closing quote of a field, expected a comma or the end of the line`);
        }
        fields.push(value);
      } else {
        let end = i;
        while (end < s.length && s[end] !== ',' && s[end] !== '\n' && !(s[end] === '\r' && s[end + 1] === '\n')) end++;
        const raw = s.slice(i, end);
        if (raw.includes('"')) {
          throw new DataError(
            `${path} line ${line}: a double quote inside an unquoted field, ` +
              'expected a field in double quotes (with quotes doubled) or none',
          );
        }
        fields.push(raw.trim());
        i = end;
      }
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    // The record's line break.
    if (s[i] === '\r') i++;
    if (s[i] === '\n') i++;
    line++;
    if (!quotedSeen && fields.length === 1 && fields[0] === '') continue;
    records.push({ line: start, fields });
  }
  return records;
}

/**
 * Reads a CSV file with a header line (see {@link parseCsv}); every row must have as many
 * fields as the header.
 */
export function readCsv(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`} (expected a CSV file)`);
  }
  const [first, ...records] = parseCsv(text, path);
  if (first === undefined) throw new DataError(`${path}: empty file, expected a header line`);
  const header = first.fields;
  for (const { line, fields } of records) {
    if (fields.length !== header.length) {
      throw new DataError(`${path} line ${line}: ${fields.length} fields, expected ${header.length} (${header.join(',')})`);
    }
  }
  return { path, header, rows: records };
}

/** A number as String() writes one (Infinity included), read back; null for any other text ('', 'abc', '0x2'). */
export function numberField(field: string): number | null {
  return /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^-?Infinity$/.test(field) ? Number(field) : null;
}

/** Index of the column named `name`; a DataError naming the file and the header if absent. */
export function columnIndex(table: CsvTable, name: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) {
    throw new DataError(`${table.path} line 1: no column "${name}" in header ${table.header.join(',')}`);
  }
  return index;
}
