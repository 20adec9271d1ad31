// Dates of the import format. Pure: no clock.

const dateTimePattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * A date (`2026-01-31`: midnight UTC) or an ISO 8601 date-time (`2026-01-31T10:00:00+02:00`,
 * seconds and fraction optional, `T` or a space) as an ISO string in UTC; a date-time without
 * an offset is read as UTC. Null when it is not one, or not a real calendar date and time.
 */
export function parseImportDate(value: string): string | null {
  const match = dateTimePattern.exec(value);
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offset = offsetMinutes(zone);
  if (offset === null) return null;
  const millis = fraction === '' ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  const time = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000;
  const result = new Date(time);
  const resultYear = result.getUTCFullYear();
  return resultYear >= 1000 && resultYear <= 9999 ? result.toISOString() : null;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function offsetMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 14 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}
