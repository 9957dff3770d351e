/** Turns a value into something JSON carries losslessly (see tagged.mjs). */
export declare function tag(value: unknown): unknown;
/**
 * The inverse of {@link tag}, plus the builders the vectors use (`date`, `toJSON`, `repeat`);
 * `bytes` makes the value for a bytes tag (default: the Uint8Array itself).
 */
export declare function untag(value: unknown, bytes?: (decoded: Uint8Array) => unknown): unknown;
