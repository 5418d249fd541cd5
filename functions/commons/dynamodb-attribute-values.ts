/**
 * Profile items to and from DynamoDB JSON: the same output as `@aws-sdk/util-dynamodb`'s
 * `marshall(item, { removeUndefinedValues: true })` and `unmarshall(item)`, written out for the plain
 * data the profile codec produces (strings, safe numbers, booleans, null, arrays, plain objects,
 * `Uint8Array`s). Anything else — sets, maps, class instances, numbers DynamoDB or JavaScript cannot
 * hold exactly, set attributes — goes to the library's own converters, so errors and edge cases are
 * the library's. Why: the library's generic walk (a type probe by constructor name, a `filter` and a
 * `map` per list, an entries array per map) cost about as much per written item as encoding the
 * profile (README, "Benchmarks"); these walks do one branch per value. A property test holds both
 * equal to the library on arbitrary values.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr, convertToNative } from '@aws-sdk/util-dynamodb';

const LIBRARY_OPTIONS = { removeUndefinedValues: true } as const;

/** One value as an AttributeValue; `undefined` and functions never reach it (their holder skips them). */
function attributeOf(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      // NaN, infinities and unsafe integers fall through: the library refuses them with its message.
      if (value <= Number.MAX_SAFE_INTEGER && value >= Number.MIN_SAFE_INTEGER) return { N: String(value) };
      break;
    case 'boolean':
      return { BOOL: value };
    case 'object': {
      if (value === null) return { NULL: true };
      const constructor = (value as { constructor?: unknown }).constructor;
      if (constructor === Array) {
        const list = value as readonly unknown[];
        const out: AttributeValue[] = [];
        for (let i = 0; i < list.length; i++) {
          const element = list[i];
          if (element !== undefined && typeof element !== 'function') out.push(attributeOf(element));
        }
        return { L: out };
      }
      if (constructor === Object) return { M: attributeMapOf(value as Record<string, unknown>) };
      if (constructor === Uint8Array || constructor === Buffer) return { B: value as Uint8Array };
      break;
    }
    default:
      break;
  }
  return convertToAttr(value, LIBRARY_OPTIONS);
}

function attributeMapOf(record: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  // for…in as the library walks a map (inherited enumerable keys included).
  for (const key in record) {
    const value = record[key];
    if (value !== undefined && typeof value !== 'function') out[key] = attributeOf(value);
  }
  return out;
}

/**
 * A plain item as DynamoDB JSON: what `marshall(item, { removeUndefinedValues: true })` returns.
 *
 * @throws the library's errors for values it refuses (NaN, unsafe integers, unsupported types)
 */
export function marshallItem(item: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const constructor = (item as { constructor?: unknown }).constructor;
  if (constructor !== Object) return attributeMapOfLibrary(item);
  return attributeMapOf(item);
}

function attributeMapOfLibrary(item: Readonly<Record<string, unknown>>): Record<string, AttributeValue> {
  const converted = convertToAttr(item, LIBRARY_OPTIONS);
  if (converted.M === undefined) throw new TypeError('marshallItem: an item must convert to a map');
  return converted.M;
}

/** One AttributeValue as a plain value, as the library's `convertToNative` returns it. */
function nativeOf(attribute: AttributeValue): unknown {
  // The first member holding a value decides, as in the library (an SDK-built value has just one).
  for (const member in attribute) {
    const value = (attribute as unknown as Record<string, unknown>)[member];
    if (value === undefined) continue;
    switch (member) {
      case 'S':
        return value;
      case 'N': {
        const n = Number(value);
        // Outside the safe range the library answers a BigInt (or its error).
        if (n <= Number.MAX_SAFE_INTEGER && n >= Number.MIN_SAFE_INTEGER) return n;
        break;
      }
      case 'L': {
        // map, as the library: a hole stays a hole.
        return (value as readonly AttributeValue[]).map((element) => nativeOf(element));
      }
      case 'M':
        return nativeMapOf(value as Record<string, AttributeValue>);
      case 'BOOL':
        return Boolean(value);
      case 'NULL':
        return null;
      case 'B':
        return value;
      default:
        break;
    }
    break;
  }
  return convertToNative(attribute);
}

function nativeMapOf(map: Readonly<Record<string, AttributeValue>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Own keys only, as the library's `Object.entries`.
  for (const key in map) if (Object.hasOwn(map, key)) out[key] = nativeOf(map[key]!);
  return out;
}

/** An item from DynamoDB JSON: what `unmarshall(item)` returns. */
export function unmarshallItem(item: Readonly<Record<string, AttributeValue>>): Record<string, unknown> {
  return nativeMapOf(item);
}
