// Why a CSV row is not imported: stable codes (the import-errors topic and the summary count by
// them) with a message for people.

export const reasonCodes = [
  'bad_encoding',
  'wrong_column_count',
  'bad_quotes',
  'line_too_long',
  'bad_transaction_id',
  'bad_event_type',
  'bad_date',
  'bad_store',
  'bad_item',
  'bad_value',
  'duplicate_transaction_id_in_file',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

export interface RowReason {
  code: ReasonCode;
  message: string;
}
