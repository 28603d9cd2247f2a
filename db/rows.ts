/**
 * Rows are parsed, not cast: every column a query returns is checked against the type the code
 * expects, and a row of another shape (a changed query, a migrated column, a hand-edited JSON
 * value) throws RowShapeError naming the table and column instead of travelling on mistyped.
 */

/** A query returned a row (or a JSON value inside one) whose shape the code does not expect. */
export class RowShapeError extends Error {
  override name = 'RowShapeError';
  constructor(
    readonly source: string,
    readonly column: string,
    readonly expected: string,
    actual: unknown,
  ) {
    super(`${source}.${column}: expected ${expected}, got ${describe(actual)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) return 'a Date';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Reads typed columns out of one row (or one JSON object); each read throws RowShapeError on a mismatch. */
export class Row {
  private readonly values: Record<string, unknown>;

  constructor(
    readonly source: string,
    raw: unknown,
  ) {
    if (!isRecord(raw)) throw new RowShapeError(source, '*', 'a row', raw);
    this.values = raw;
  }

  private fail(column: string, expected: string): never {
    throw new RowShapeError(this.source, column, expected, this.values[column]);
  }

  private isNull(column: string): boolean {
    const v = this.values[column];
    return v === null || v === undefined;
  }

  str(column: string): string {
    const v = this.values[column];
    return typeof v === 'string' ? v : this.fail(column, 'a string');
  }

  strOrNull(column: string): string | null {
    return this.isNull(column) ? null : this.str(column);
  }

  /** A safe integer; bigint counts within range are accepted. */
  int(column: string): number {
    const v = this.values[column];
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
    return this.fail(column, 'an integer');
  }

  intOrNull(column: string): number | null {
    return this.isNull(column) ? null : this.int(column);
  }

  bool(column: string): boolean {
    const v = this.values[column];
    return typeof v === 'boolean' ? v : this.fail(column, 'a boolean');
  }

  boolOrNull(column: string): boolean | null {
    return this.isNull(column) ? null : this.bool(column);
  }

  date(column: string): Date {
    const v = this.values[column];
    return v instanceof Date && !Number.isNaN(v.getTime()) ? v : this.fail(column, 'a timestamp');
  }

  dateOrNull(column: string): Date | null {
    return this.isNull(column) ? null : this.date(column);
  }

  /** An amount in minor units beside its ISO 4217 code. */
  money(valueColumn: string, currencyColumn: string): { value: number; currency: string } {
    const value = this.int(valueColumn);
    if (value < 0) this.fail(valueColumn, 'a non-negative amount');
    const currency = this.str(currencyColumn);
    if (!/^[A-Z]{3}$/.test(currency)) this.fail(currencyColumn, 'an ISO 4217 code');
    return { value, currency };
  }

  /** One of `values` (a status column). */
  enumOf<const T extends string>(column: string, values: readonly T[]): T {
    const v = this.values[column];
    const isMember = (x: unknown): x is T => values.some((m) => m === x);
    return isMember(v) ? v : this.fail(column, `one of ${values.join(', ')}`);
  }

  enumOrNull<const T extends string>(column: string, values: readonly T[]): T | null {
    return this.isNull(column) ? null : this.enumOf(column, values);
  }

  strArray(column: string): string[] {
    const v = this.values[column];
    if (!Array.isArray(v)) return this.fail(column, 'an array of strings');
    return v.map((s: unknown) => (typeof s === 'string' ? s : this.fail(column, 'an array of strings')));
  }

  /** A JSON column as stored: its shape is for the caller to parse. */
  json(column: string): unknown {
    return this.values[column] ?? null;
  }

  /** A JSON object column (or nested object), read with the same checks. */
  object(column: string): Row {
    const v = this.values[column];
    return isRecord(v) ? new Row(`${this.source}.${column}`, v) : this.fail(column, 'an object');
  }
}

/** Every row of a result, each parsed by `parse`. */
export function parseRows<T>(source: string, rows: unknown, parse: (row: Row) => T): T[] {
  if (!Array.isArray(rows)) throw new RowShapeError(source, '*', 'a list of rows', rows);
  return rows.map((raw: unknown) => parse(new Row(source, raw)));
}

/** The first row of a result, parsed, or null when there is none. */
export function firstRow<T>(source: string, rows: unknown, parse: (row: Row) => T): T | null {
  return parseRows(source, Array.isArray(rows) ? rows.slice(0, 1) : rows, parse)[0] ?? null;
}

/** The first row of a result that must return one (an upsert … RETURNING, an aggregate). */
export function onlyRow<T>(source: string, rows: unknown, parse: (row: Row) => T): T {
  const row = firstRow(source, rows, parse);
  if (row === null) throw new RowShapeError(source, '*', 'one row', rows);
  return row;
}
