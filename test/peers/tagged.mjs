// Tagged values: JSON cannot carry undefined, NaN, ±Infinity, -0 or bytes, so the interop tests and
// the node-ipc peer (test/peers/node-ipc-peer.mjs) exchange them in this form. Plain JavaScript with
// web globals only: Node 20 runs the peer without a TypeScript loader, and the tests import it too.
// Types: tagged.d.mts.

/** Turns a value into something JSON carries losslessly. */
export function tag(value) {
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
    const out = {};
    for (const [key, member] of Object.entries(value)) out[key] = tag(member);
    return out;
  }
  return value;
}

/**
 * The inverse of {@link tag}, plus the builders the vectors use (`date`, `toJSON`, `repeat`).
 * `bytes` makes the value for a `{"$":"bytes"}` tag from its decoded bytes (the node-ipc peer
 * wants a Buffer); by default it is the Uint8Array itself.
 */
export function untag(value, bytes = (decoded) => decoded) {
  const inner = (member) => untag(member, bytes);
  if (Array.isArray(value)) return value.map(inner);
  if (value === null || typeof value !== "object") return value;
  switch (value.$) {
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
      return bytes(fromBase64(String(value.base64)));
    case "date":
      return new Date(Number(value.time));
    case "toJSON":
      return { toJSON: () => value.value };
    case "repeat":
      return String(value.text).repeat(Number(value.count));
    case undefined: {
      const out = {};
      for (const [key, member] of Object.entries(value)) out[key] = inner(member);
      return out;
    }
    default:
      throw new Error(`unknown tag ${value.$}`);
  }
}

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
