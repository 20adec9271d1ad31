import type { Config } from '../config/schema.js';
import { availabilityRules, NO_MARGIN, parseMargin, type AvailabilityRules, type Margin } from '../domain/availability.js';

/** What the configuration decides about projecting: reservation rules, and the db path's outbox. */
export interface ProjectionSettings {
  rules: AvailabilityRules;
  /** Whether the db path records its applied events for `shopctl relay`. */
  outbox: boolean;
}

/** The safety margins and freshness SLA of the configuration (validated by the config schema). */
export function rulesOf(config: Config): AvailabilityRules {
  const { safetyMargin, margins, staleAfterSeconds } = config.availability;
  return availabilityRules({
    safetyMargin: parseMargin(safetyMargin) ?? NO_MARGIN,
    margins: Object.fromEntries(Object.entries(margins).map(([store, margin]): [string, Margin] => [store, parseMargin(margin) ?? NO_MARGIN])),
    staleAfterMs: staleAfterSeconds * 1000,
  });
}

export function projectionSettings(config: Config): ProjectionSettings {
  return { rules: rulesOf(config), outbox: config.outbox.enabled };
}
