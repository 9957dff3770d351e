/**
 * Tagged values, the same encoding as test/peers/node-ipc-peer.mjs uses (a plain-JS copy there, since
 * Node 20 runs that peer without a TypeScript loader): JSON cannot carry undefined, NaN, -0, bytes…
 */

/** Turns a value into something JSON carries losslessly. */
export function tag(value: unknown): unknown {
  if (value === undefined) return { $: "undefined" };
  if (typeof value === "number") {
    if (Number.isNaN(value)) return { $: "NaN" };
    if (value === Number.POSITIVE_INFINITY) return { $: "Infinity" };
    if (value === Number.NEGATIVE_INFINITY) return { $: "-Infinity" };
    if (Object.is(value, -0)) return { $: "-0" };
    return value;
  }
  if (value instanceof Uint8Array) return { $: "bytes", base64: toBase64(value) };
  if (Array.isArray(value)) return value.map(tag);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) out[key] = tag(member);
    return out;
  }
  return value;
}

/** The inverse of {@link tag}, plus the builders the vectors use (`date`, `toJSON`, `repeat`). */
export function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value === null || typeof value !== "object") return value;
  const tagged = value as { $?: string; [member: string]: unknown };
  switch (tagged.$) {
    case "undefined":
      return undefined;
    case "NaN":
      return Number.NaN;
    case "Infinity":
      return Number.POSITIVE_INFINITY;
    case "-Infinity":
      return Number.NEGATIVE_INFINITY;
    case "-0":
      return -0;
    case "bytes":
      return fromBase64(String(tagged.base64));
    case "date":
      return new Date(Number(tagged.time));
    case "toJSON":
      return { toJSON: () => tagged.value };
    case "repeat":
      return String(tagged.text).repeat(Number(tagged.count));
    case undefined: {
      const out: Record<string, unknown> = {};
      for (const [key, member] of Object.entries(tagged)) out[key] = untag(member);
      return out;
    }
    default:
      throw new Error(`unknown tag ${tagged.$}`);
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
