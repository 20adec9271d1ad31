// The stock manager's CSV import, one job a file: the reader (csv-reader), the row rules
// (import-rows), dates (import-date), a file's transaction ids (transaction-ids) and the reason
// codes (import-reasons). This module gathers them for callers that want the whole format.

export { CsvReader, MAX_RECORD_CHARS, type CsvRecord } from './csv-reader.js';
export { parseImportDate } from './import-date.js';
export { reasonCodes, type ReasonCode, type RowReason } from './import-reasons.js';
export { headerProblems, IMPORT_HEADER, MAX_QUANTITY, rowEvent, RowValidator, validateFields, type MovementRow, type RowResult } from './import-rows.js';
export { TransactionIds } from './transaction-ids.js';
