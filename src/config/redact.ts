const MASK = '***';

// mongodb://user:secret@host/db -> mongodb://user:***@host/db
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]+:)([^@]*)@/i, `$1${MASK}@`);
}

const secretKeys = new Set(['password', 'secret', 'token', 'apiKey']);

// A deep copy of a configuration-shaped value with every secret replaced by ***.
export function redact<T>(value: T): T {
  return walk(value, '') as T;
}

function walk(value: unknown, key: string): unknown {
  if (typeof value === 'string') {
    if (secretKeys.has(key)) return MASK;
    return key === 'uri' ? redactUri(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, key));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
  }
  return value;
}
