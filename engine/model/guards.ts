/**
 * Typed guards for the fields of a loaded resource, which may not fit its schema yet (a workspace with schema errors
 * is still validated, tested and watched): one guard per shape the engine reads, instead of a typeof chain at each
 * use. Each guard answers undefined (or an empty value) for a field that is missing or of another type, so the
 * schema check, not the reader, reports it.
 */
import { isObject } from '../util/merge.js';
import type { Unchecked } from './workspace.js';

/** The string, when `v` is one. */
export function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The string, when `v` is a non-empty one: a name that refers to something. */
export function named(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The fields of an object as its schema type names them (each still unknown); none when `v` is not an object. */
export function fields<T>(v: unknown): Unchecked<T> {
  return isObject(v) ? (v as Unchecked<T>) : {};
}

/** The items of a list; none when `v` is not one. */
export function items(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The strings of a list, leaving out anything else. */
export function strings(v: unknown): string[] {
  return items(v).filter((x): x is string => typeof x === 'string');
}

/** A trigger's webhook topics: `event: orders/create` or `event: [orders/create, orders/updated]`; [] for none. */
export function triggerEvents(v: unknown): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v];
  return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string' && e !== '') : [];
}
