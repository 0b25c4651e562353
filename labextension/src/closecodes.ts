/**
 * Every websocket close code rtc-presence sends, mirrored from
 * `rtc_presence/closecodes.py` (`CloseCode`, `FATAL`), the one table.
 * `tests/test_closecodes.py` parses this file and checks both tables agree.
 */
export enum CloseCode {
  /** The peer stopped answering pings (a dead or frozen client): reconnect. */
  PING_TIMEOUT = 1001,
  /** A frame over `max_message_size` (sent by tornado itself). */
  TOO_BIG = 1009,
  /** A frame that is not a valid Yjs/awareness message. */
  MALFORMED = 4400,
  /** The person's access ended (revoked, expired, server stopping): never reconnect. */
  REVOKED = 4403,
  /** The person's access level changed: reconnect, the new level applies. */
  ACCESS_CHANGED = 4409,
  /** Over a per-connection or per-person bound. */
  OVER_LIMIT = 4413,
  /** Too many messages per second: reconnect after a pause. */
  FLOOD = 4429
}

/** Codes after which a client must not reconnect on its own. */
export const FATAL: ReadonlySet<number> = new Set<number>([CloseCode.REVOKED]);

/** Whether reconnecting after `code` is pointless. */
export function isFatal(code: number): boolean {
  return FATAL.has(code);
}

/**
 * Reasons sent with `REVOKED` that change what people are told, mirrored
 * from `rtc_presence/closecodes.py` (`REASONS`).
 */
export namespace CloseReason {
  /** The owner (or the hub) revoked this person. */
  export const REVOKED = 'access revoked';
  /** The server is stopping: everybody's access ends with it. */
  export const STOPPING = 'server stopping';
  /** The access of this person expired (``access_for`` / ``access_expires_at``). */
  export const EXPIRED = 'access expired';
  /** With ACCESS_CHANGED: the person's access level changed. */
  export const ACCESS_CHANGED = 'access changed';
}
