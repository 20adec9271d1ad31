import { describe, expect, it } from 'vitest';
import {
  availabilityRules,
  availableToPromise,
  DEFAULT_RULES,
  formatDuration,
  formatMargin,
  freshnessOf,
  marginUnits,
  NO_MARGIN,
  parseDuration,
  parseMargin,
  reservationEventId,
} from '../../src/domain/availability.js';

// Given/when/then for the pure availability rules: safety margins, available-to-promise, store
// freshness and durations. No clock: every "now" is given.

const T0 = '2026-03-01T10:00:00.000Z';
const after = (ms: number) => new Date(Date.parse(T0) + ms);

describe('availability', () => {
  describe('parseMargin', () => {
    it('reads a whole number of units, as a number or as text', () => {
      expect(parseMargin(0)).toEqual({ units: 0 });
      expect(parseMargin(2)).toEqual({ units: 2 });
      expect(parseMargin('2')).toEqual({ units: 2 });
      expect(parseMargin(' 12 ')).toEqual({ units: 12 });
      expect(parseMargin(1_000_000_000)).toEqual({ units: 1_000_000_000 });
    });

    it('reads a percentage of the units on hand, whole or with decimals, up to 100%', () => {
      expect(parseMargin('10%')).toEqual({ percent: 10 });
      expect(parseMargin(' 10 % ')).toEqual({ percent: 10 });
      expect(parseMargin('0%')).toEqual({ percent: 0 });
      expect(parseMargin('12.5%')).toEqual({ percent: 12.5 });
      expect(parseMargin('100%')).toEqual({ percent: 100 });
    });

    it.each([
      ['a negative number', -1],
      ['a part unit', 1.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['more than a billion units', 1_000_000_001],
      ['more than 100%', '101%'],
      ['a negative percentage', '-5%'],
      ['a negative number as text', '-1'],
      ['a part unit as text', '1.5'],
      ['words', 'abc'],
      ['an empty string', ''],
      ['a percent sign alone', '%'],
      ['a number with another unit', '10u'],
      ['null', null],
      ['undefined', undefined],
      ['a boolean', true],
      ['an object', { units: 2 }],
    ])('refuses %s', (_what, value) => {
      expect(parseMargin(value)).toBeNull();
    });

    it('formats a margin back as it is read', () => {
      expect(formatMargin({ units: 3 })).toBe('3');
      expect(formatMargin({ percent: 12.5 })).toBe('12.5%');
      for (const text of ['3', '10%', '12.5%']) expect(formatMargin(parseMargin(text)!)).toBe(text);
    });
  });

  describe('marginUnits', () => {
    it('a margin in units keeps those units back, whatever the level', () => {
      expect(marginUnits({ units: 3 }, 0)).toBe(3);
      expect(marginUnits({ units: 3 }, 100)).toBe(3);
    });

    it('a percentage rounds up: never promise a part unit', () => {
      expect(marginUnits({ percent: 10 }, 10)).toBe(1);
      expect(marginUnits({ percent: 10 }, 15)).toBe(2); // 1.5 -> 2
      expect(marginUnits({ percent: 10 }, 11)).toBe(2); // 1.1 -> 2
      expect(marginUnits({ percent: 1 }, 1)).toBe(1); // 0.01 -> 1
      expect(marginUnits({ percent: 25 }, 10)).toBe(3); // 2.5 -> 3
      expect(marginUnits({ percent: 100 }, 7)).toBe(7);
      expect(marginUnits({ percent: 0 }, 7)).toBe(0);
    });

    it('a percentage of nothing (or of a negative level) is nothing', () => {
      expect(marginUnits({ percent: 50 }, 0)).toBe(0);
      expect(marginUnits({ percent: 50 }, -4)).toBe(0);
    });

    it('a percentage that is an exact number of units is that number, not one more (no floating-point round-up)', () => {
      // 1.1% of 3000 is 33 units exactly; 4.4% of 750 is 33; 8.8% of 375 is 33.
      expect(marginUnits({ percent: 1.1 }, 3000)).toBe(33);
      expect(marginUnits({ percent: 4.4 }, 750)).toBe(33);
      expect(marginUnits({ percent: 8.8 }, 375)).toBe(33);
      expect(marginUnits(parseMargin('1.1%')!, 3000)).toBe(33);
    });
  });

  describe('availableToPromise', () => {
    it('is on hand minus held minus the margin', () => {
      expect(availableToPromise(10, 0, NO_MARGIN)).toBe(10);
      expect(availableToPromise(10, 3, NO_MARGIN)).toBe(7);
      expect(availableToPromise(10, 3, { units: 2 })).toBe(5);
      expect(availableToPromise(10, 3, { percent: 10 })).toBe(6);
      expect(availableToPromise(15, 0, { percent: 10 })).toBe(13); // margin 1.5 -> 2
    });

    it('is never below 0', () => {
      expect(availableToPromise(10, 10, NO_MARGIN)).toBe(0);
      expect(availableToPromise(10, 12, NO_MARGIN)).toBe(0); // more held than on hand (the floor sold some)
      expect(availableToPromise(2, 0, { units: 5 })).toBe(0);
      expect(availableToPromise(0, 0, NO_MARGIN)).toBe(0);
      expect(availableToPromise(-3, 0, { percent: 10 })).toBe(0);
    });
  });

  describe('freshnessOf', () => {
    const SLA = 30_000;

    it('a store never heard from is unknown, not stale', () => {
      expect(freshnessOf(undefined, after(10 * 60_000), SLA)).toEqual({ state: 'unknown', ageMs: null });
      expect(freshnessOf(null, after(0), SLA)).toEqual({ state: 'unknown', ageMs: null });
      expect(freshnessOf('', after(0), SLA)).toEqual({ state: 'unknown', ageMs: null });
    });

    it('a heartbeat within the SLA is fresh', () => {
      expect(freshnessOf(T0, after(0), SLA)).toEqual({ state: 'fresh', ageMs: 0 });
      expect(freshnessOf(T0, after(12_345), SLA)).toEqual({ state: 'fresh', ageMs: 12_345 });
    });

    it('at exactly the SLA a store is still fresh; one millisecond more and it is stale', () => {
      expect(freshnessOf(T0, after(SLA), SLA)).toEqual({ state: 'fresh', ageMs: SLA });
      expect(freshnessOf(T0, after(SLA + 1), SLA)).toEqual({ state: 'stale', ageMs: SLA + 1 });
      expect(freshnessOf(T0, after(60 * 60_000), SLA)).toEqual({ state: 'stale', ageMs: 60 * 60_000 });
    });

    it('a heartbeat from the future (clocks apart) is fresh, of age 0', () => {
      expect(freshnessOf(after(5_000).toISOString(), after(0), SLA)).toEqual({ state: 'fresh', ageMs: 0 });
    });

    it('reads a heartbeat time written with an offset as the instant it names', () => {
      // 11:00+01:00 is 10:00Z.
      expect(freshnessOf('2026-03-01T11:00:00+01:00', after(SLA), SLA)).toEqual({ state: 'fresh', ageMs: SLA });
      expect(freshnessOf('2026-03-01T11:00:00+01:00', after(SLA + 1), SLA)).toEqual({ state: 'stale', ageMs: SLA + 1 });
    });
  });

  describe('durations', () => {
    it.each([
      ['500ms', 500],
      ['30s', 30_000],
      ['15m', 900_000],
      ['2h', 7_200_000],
      ['1d', 86_400_000],
      ['1.5h', 5_400_000],
      ['0.5s', 500],
      [' 5 s ', 5_000],
      ['0s', 0],
      ['1.5ms', 2], // rounded to a whole millisecond
    ])('parseDuration(%j) is %d ms', (text, ms) => {
      expect(parseDuration(text)).toBe(ms);
    });

    it.each(['', '5', 'abc', 's', '-5s', '5x', '5 sec', '1m30s', '1e3s', '.5s', '5S'])('parseDuration(%j) is null', (text) => {
      expect(parseDuration(text)).toBeNull();
    });

    it.each([
      [0, '0ms'],
      [500, '500ms'],
      [999, '999ms'],
      [1_000, '1s'],
      [1_500, '1.5s'],
      [30_000, '30s'],
      [60_000, '1m'],
      [90_000, '1m 30s'],
      [3_600_000, '1h'],
      [5_400_000, '1h 30m'],
      [86_400_000, '1d'],
      [2 * 86_400_000 + 3 * 3_600_000, '2d 3h'],
    ])('formatDuration(%d) is %j', (ms, text) => {
      expect(formatDuration(ms)).toBe(text);
    });

    it('a single-unit duration formatted reads back as the same milliseconds', () => {
      for (const ms of [250, 1_000, 1_500, 30_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
    });
  });

  describe('availabilityRules', () => {
    it('gives a store its own margin, every other store the default', () => {
      const rules = availabilityRules({ safetyMargin: { percent: 10 }, margins: { berlin: { units: 3 }, rome: { percent: 50 } }, staleAfterMs: 5_000 });
      expect(rules.marginFor('berlin')).toEqual({ units: 3 });
      expect(rules.marginFor('rome')).toEqual({ percent: 50 });
      expect(rules.marginFor('paris')).toEqual({ percent: 10 });
      expect(rules.staleAfterMs).toBe(5_000);
    });

    it('a store named like an Object property is not taken for an override', () => {
      const rules = availabilityRules({ safetyMargin: { units: 1 }, margins: { berlin: { units: 3 } }, staleAfterMs: 5_000 });
      for (const store of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) expect(rules.marginFor(store)).toEqual({ units: 1 });
    });

    it('without overrides every store has the default margin', () => {
      const rules = availabilityRules({ safetyMargin: { units: 2 }, staleAfterMs: 30_000 });
      expect(rules.marginFor('berlin')).toEqual({ units: 2 });
    });

    it('by default there is no margin and a store is stale after 30 s', () => {
      expect(DEFAULT_RULES.marginFor('anywhere')).toEqual(NO_MARGIN);
      expect(DEFAULT_RULES.staleAfterMs).toBe(30_000);
    });
  });

  it("a reservation step's event id is derived from the reservation id and the step", () => {
    expect(reservationEventId('requested', 'r-1')).toBe('rsv.requested.r-1');
    expect(reservationEventId('fulfilled', 'r-1')).toBe('rsv.fulfilled.r-1');
    expect(reservationEventId('cancelled', 'r-1')).not.toBe(reservationEventId('expired', 'r-1'));
  });
});
