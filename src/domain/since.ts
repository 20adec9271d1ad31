// Pure time-window parsing for `--since` options: no clock is read here, `now` is passed in.
const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`: an ISO date or date-time (`2026-01-31`, `2026-01-31T10:00Z`) or a duration back from
 * now (`90s`, `15m`, `2h`, `1d`, `1w`). Null when it is neither.
 */
export function parseSince(raw: string, now: Date): Date | null {
  const text = raw.trim();
  const relative = /^(\d{1,9})\s*([smhdw])$/.exec(text);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (units[relative[2] ?? 's'] ?? 1000));
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text)) return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : new Date(time);
}
