import { excerptOf, IpcError } from "../errors.ts";

/**
 * node-ipc's message envelope: an event name and its payload. On the wire it is the JSON
 * `{"type":…,"data":…}`, members in that order.
 *
 * @typeParam Type the event name
 * @typeParam Data the payload
 * @example
 * ```ts
 * import type { IpcEvent } from "ipc-streams";
 *
 * const hello: IpcEvent<"hello", { name: string }> = { type: "hello", data: { name: "world" } };
 * ```
 */
export interface IpcEvent<Type extends string = string, Data = unknown> {
  /** The event name. */
  readonly type: Type;
  /** The payload: any JSON value. */
  readonly data: Data;
}

/**
 * Turns a map of event names to payload types into the union of their envelopes, so a
 * connection's messages get a typed `data` per `type`.
 *
 * @example
 * ```ts
 * import type { EventOf } from "ipc-streams";
 *
 * interface ClientEvents { hello: { name: string }; bye: null }
 * type ClientMessage = EventOf<ClientEvents>;
 * // { type: "hello"; data: { name: string } } | { type: "bye"; data: null }
 * ```
 */
export type EventOf<Events extends object> = {
  [Type in keyof Events & string]: IpcEvent<Type, Events[Type]>;
}[keyof Events & string];

/**
 * Builds a `{type, data}` envelope. Omitted (`undefined`) data becomes `{}`, exactly what every
 * node-ipc version sends for `emit(type)`. Other values are kept as they are: unlike node-ipc
 * 9–12, `null`, `""` and `NaN` are not rewritten to `{}`.
 *
 * @example
 * ```ts
 * import { event } from "ipc-streams";
 *
 * event("hello", { a: 1 }); // { type: "hello", data: { a: 1 } }
 * event("ping"); // { type: "ping", data: {} }
 * ```
 */
export function event<Type extends string, Data = Record<string, never>>(
  type: Type,
  data?: Data,
): IpcEvent<Type, Data> {
  return { type, data: data === undefined ? ({} as Data) : data };
}

/**
 * True when `value` has the envelope's shape: a non-array object with a string `type`.
 *
 * @example
 * ```ts
 * import { isEvent } from "ipc-streams";
 *
 * isEvent({ type: "hello", data: 1 }); // true
 * isEvent([1, 2]); // false
 * ```
 */
export function isEvent(value: unknown): value is IpcEvent {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { type?: unknown }).type === "string"
  );
}

/**
 * Event names that node-ipc uses for local lifecycle events. A peer that sends them as message
 * types can spoof those events in node-ipc 9–12 and 14's fast profile; node-ipc 14's guarded and
 * assured profiles reject them.
 *
 * @example
 * ```ts
 * import { RESERVED_EVENT_TYPES } from "ipc-streams";
 *
 * RESERVED_EVENT_TYPES.includes("connect"); // true
 * ```
 */
export const RESERVED_EVENT_TYPES: readonly string[] = Object.freeze([
  "start",
  "connect",
  "disconnect",
  "destroy",
  "close",
  "socket.disconnected",
  "error",
  "data",
]);

const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Options of {@link EventValidator}; they mirror node-ipc 14's guarded and assured profiles.
 *
 * @example
 * ```ts
 * import { type EventValidationOptions, EventValidator } from "ipc-streams";
 *
 * // node-ipc 14 assured: only these types, nothing reserved.
 * const assured: EventValidationOptions = { allowedTypes: ["job", "result"] };
 * new EventValidator(assured);
 * ```
 */
export interface EventValidationOptions {
  /**
   * The longest `type` accepted, in UTF-16 code units (node-ipc 14's `maxEventNameLength`).
   * @default 256
   */
  readonly maxTypeLength?: number;
  /**
   * Accept the names in {@link RESERVED_EVENT_TYPES} (node-ipc 14's `allowReservedEvents`).
   * @default false
   */
  readonly allowReservedTypes?: boolean;
  /**
   * When given, only these types are accepted (node-ipc 14 assured's `allowedEvents`).
   * @default undefined (any type)
   */
  readonly allowedTypes?: Iterable<string>;
}

/**
 * Checks that a message is a well-formed `{type, data}` event, in node-ipc 14's order of checks:
 * a JSON object (`ERR_IPC_INVALID_MESSAGE`); a non-empty string `type` (`ERR_IPC_INVALID_EVENT`);
 * not longer than `maxTypeLength` (`ERR_IPC_EVENT_TOO_LARGE`); not an `Object.prototype` member
 * name (`ERR_IPC_INVALID_EVENT`); not reserved (`ERR_IPC_RESERVED_EVENT`); and, when
 * `allowedTypes` is set, in that list (`ERR_IPC_EVENT_NOT_ALLOWED`).
 *
 * These are the messages that crash node-ipc 10/12 receivers, so validating what you send keeps
 * such peers alive; validating what you receive protects your handlers.
 *
 * @example
 * ```ts
 * import { EventValidator } from "ipc-streams";
 *
 * const validator = new EventValidator({ allowedTypes: ["hello"] });
 * validator.validate({ type: "hello", data: 1 }); // returns the event
 * validator.validate({ type: "connect", data: 1 }); // throws ERR_IPC_RESERVED_EVENT
 * ```
 */
export class EventValidator {
  readonly #maxTypeLength: number;
  readonly #allowReserved: boolean;
  readonly #allowed: ReadonlySet<string> | undefined;

  /**
   * Takes its limits and lists from `options`; each one has a default.
   *
   * @param options limits and lists; see {@link EventValidationOptions}
   */
  constructor(options: EventValidationOptions = {}) {
    const maxTypeLength = options.maxTypeLength ?? 256;
    if (!(maxTypeLength === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxTypeLength) && maxTypeLength > 0))) {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "maxTypeLength must be a positive integer or Infinity", {
        limit: maxTypeLength,
      });
    }
    this.#maxTypeLength = maxTypeLength;
    this.#allowReserved = options.allowReservedTypes ?? false;
    if (typeof this.#allowReserved !== "boolean") {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "allowReservedTypes must be true or false");
    }
    const allowed = options.allowedTypes;
    if (allowed !== undefined && (typeof allowed !== "object" || allowed === null || !(Symbol.iterator in allowed))) {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "allowedTypes must be a list of event type names");
    }
    this.#allowed = allowed === undefined ? undefined : new Set(allowed);
    if (this.#allowed !== undefined && this.#allowed.size === 0) {
      throw new IpcError("ERR_IPC_INVALID_OPTION", "allowedTypes must name at least one type");
    }
    for (const type of this.#allowed ?? []) {
      if (typeof type !== "string") throw new IpcError("ERR_IPC_INVALID_OPTION", "allowedTypes must hold strings only");
    }
  }

  /** Returns `value` as an event, or throws an `IpcError` saying what is wrong with it. */
  validate(value: unknown): IpcEvent {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new IpcError("ERR_IPC_INVALID_MESSAGE", `message is not a JSON object: ${describe(value)}`, {
        excerpt: describe(value),
      });
    }
    const type = (value as { type?: unknown }).type;
    if (typeof type !== "string" || type.length === 0) {
      const what = typeof type === "string" ? '""' : describe(type);
      throw new IpcError("ERR_IPC_INVALID_EVENT", `event type must be a non-empty string, got ${what}`, {
        excerpt: what,
      });
    }
    if (type.length > this.#maxTypeLength) {
      throw new IpcError(
        "ERR_IPC_EVENT_TOO_LARGE",
        `event type of ${type.length} characters exceeds maxTypeLength (${this.#maxTypeLength})`,
        {
          limit: this.#maxTypeLength,
          excerpt: excerptOf(type),
        },
      );
    }
    if (PROTOTYPE_NAMES.has(type)) {
      throw new IpcError("ERR_IPC_INVALID_EVENT", `event type "${type}" is an Object.prototype member name`, {
        excerpt: type,
      });
    }
    if (!this.#allowReserved && RESERVED_EVENT_TYPES.includes(type)) {
      throw new IpcError("ERR_IPC_RESERVED_EVENT", `event type "${type}" is a reserved node-ipc lifecycle name`, {
        excerpt: type,
      });
    }
    if (this.#allowed !== undefined && !this.#allowed.has(type)) {
      throw new IpcError("ERR_IPC_EVENT_NOT_ALLOWED", `event type "${excerptOf(type)}" is not in allowedTypes`, {
        excerpt: excerptOf(type),
      });
    }
    return value as IpcEvent;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    return excerptOf(JSON.stringify(value) ?? String(value));
  } catch {
    return typeof value;
  }
}
