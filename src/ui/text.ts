// Text for a terminal: how many columns a string takes, cutting it to a width with "…", and
// escaping what a terminal would act on (control characters, bytes that are not UTF-8) so that
// data read from Kafka or MongoDB can neither garble nor drive the terminal.

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

// Marks, joiners and variation selectors take no column of their own.
const zeroWidth = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;
// East Asian Wide and Fullwidth (UAX #11) and emoji presented as pictures take two columns.
const wide =
  /^(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|[\u1100-\u115F\u231A\u231B\u2329\u232A\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uA960-\uA97F\uAC00-\uD7A3\uF900-\uFAFF\uFE10-\uFE19\uFE30-\uFE6F\uFF00-\uFF60\uFFE0-\uFFE6\u{16FE0}-\u{16FE4}\u{17000}-\u{18AFF}\u{1B000}-\u{1B16F}\u{1F200}-\u{1F2FF}\u{20000}-\u{3FFFD}])/u;

function graphemeWidth(grapheme: string): number {
  if (zeroWidth.test(grapheme)) return 0;
  return wide.test(grapheme) ? 2 : 1;
}

/** The columns `text` takes in a terminal (one line, no escape sequences). */
export function textWidth(text: string): number {
  if (/^[\u0020-\u007e]*$/.test(text)) return text.length;
  let width = 0;
  for (const { segment } of segmenter.segment(text)) width += graphemeWidth(segment);
  return width;
}

/** `text` cut to at most `width` columns, ending in "…" when it was cut (never inside a character). */
export function truncateText(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const next = graphemeWidth(segment);
    if (used + next > width - 1) break;
    out += segment;
    used += next;
  }
  return `${out}…`;
}

/** `text` padded with spaces to `width` columns, on the right (align left) or on the left. */
export function padText(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const pad = ' '.repeat(Math.max(0, width - textWidth(text)));
  return align === 'right' ? pad + text : text + pad;
}

const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (code: number): string => `\\x${code.toString(16).padStart(2, '0')}`;

/**
 * `text` with what a terminal would act on made visible: newline, carriage return and tab as
 * \n \r \t, other C0 controls, DEL and the C1 controls (U+0080-U+009F, which some terminals take
 * as escape sequences) as \xNN, and line/paragraph separators as \u2028 \u2029.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    const code = char.charCodeAt(0);
    return named[char] ?? (code > 0xff ? `\\u${code.toString(16)}` : hex(code));
  });
}

/** The length of the UTF-8 sequence that starts at `at`, or 0 when the bytes there are not UTF-8. */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const lead = bytes[at]!;
  if (lead < 0x80) return 1;
  const cont = (offset: number, low = 0x80, high = 0xbf): boolean => {
    const byte = bytes[at + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  // Ranges from the Unicode standard (table 3-7): no overlong forms, no surrogates, ≤ U+10FFFF.
  if (lead >= 0xc2 && lead <= 0xdf) return cont(1) ? 2 : 0;
  if (lead === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((lead >= 0xe1 && lead <= 0xec) || lead === 0xee || lead === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (lead === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (lead === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (lead >= 0xf1 && lead <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (lead === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Bytes as printable text: UTF-8 where they are UTF-8, each other byte as \xNN; controls as in `printable`. */
export function printableBytes(bytes: Uint8Array | string): string {
  if (typeof bytes === 'string') return printable(bytes);
  const decode = (from: number, to: number): string => (to > from ? printable(Buffer.from(bytes.subarray(from, to)).toString('utf8')) : '');
  let out = '';
  let run = 0;
  let at = 0;
  while (at < bytes.length) {
    const length = sequenceLength(bytes, at);
    if (length > 0) {
      at += length;
      continue;
    }
    out += decode(run, at) + hex(bytes[at]!);
    at += 1;
    run = at;
  }
  return out + decode(run, at);
}
