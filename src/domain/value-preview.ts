// A record's value for people: JSON when it parses, text when it is printable UTF-8, else hex.

/** The value parsed as JSON; undefined when it is empty, too large to bother, or not JSON. */
export function parseJsonValue(value: Buffer | null): unknown {
  if (value === null || value.length === 0 || value.length > 1_000_000) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export type ValuePreview =
  | { format: 'empty' }
  | { format: 'json'; bytes: number; json: unknown }
  | { format: 'text'; bytes: number; text: string }
  | { format: 'binary'; bytes: number; hex: string; utf8: string; truncated: boolean };

const PREVIEW_BYTES = 256;

/** A value for people: JSON when it parses, text when it is printable UTF-8, else a hex preview. */
export function previewValue(value: Buffer | null): ValuePreview {
  if (value === null || value.length === 0) return { format: 'empty' };
  const json = parseJsonValue(value);
  if (json !== undefined) return { format: 'json', bytes: value.length, json };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(value);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { format: 'text', bytes: value.length, text };
  } catch {
    // Not UTF-8: fall through to the hex preview.
  }
  const head = value.subarray(0, PREVIEW_BYTES);
  return {
    format: 'binary',
    bytes: value.length,
    hex: head.toString('hex').replace(/(..)(?!$)/g, '$1 '),
    // eslint-disable-next-line no-control-regex
    utf8: head.toString('utf8').replace(/[\u0000-\u001f\u007f\ufffd]/g, '.'),
    truncated: value.length > PREVIEW_BYTES,
  };
}
