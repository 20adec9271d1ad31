import type { IHeaders, Message } from 'kafkajs';
import { validateEvent, type ShopEvent, type ValidationResult } from '../domain/events.js';
import { routeOf } from '../domain/routing.js';

export const CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

// Structured mode: the whole envelope is the value; id and type are repeated as headers so
// tools (and the dead-letter inspector) can read them without parsing the value.
export function encodeEvent(event: ShopEvent): Message {
  return eventMessage(routeOf(event).key, JSON.stringify(event), event.id, event.type);
}

/** The message for an event already serialised (by a generator thread, say). */
export function eventMessage(key: string, value: string, id: string, type: string): Message {
  return { key, value, headers: { 'content-type': CONTENT_TYPE, ce_id: id, ce_type: type } };
}

export type DecodeResult = ValidationResult | { ok: false; reason: 'invalid_json'; message: string };

export function decodeEvent(value: Buffer | null): DecodeResult {
  if (value === null || value.length === 0) {
    return { ok: false, reason: 'invalid_json', message: 'empty message value' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'invalid_json', message: `value is not JSON: ${(error as Error).message}` };
  }
  return validateEvent(parsed);
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

// Offsets per source partition are stored as document keys, which may not contain '.'.
export function positionKey(topic: string, partition: number): string {
  return `${topic.replaceAll('.', '_')}-${partition}`;
}
