/**
 * The token every rtc-presence plugin shares, and the command ids.
 *
 * `rtc-presence:plugin` (core) provides `IRtcPresence`; the sharing,
 * collaborators panel, badge, cursor-names and connection-lost plugins
 * require or use it. Each can be disabled by id (`jupyter labextension
 * disable rtc-presence:badge`, or `disabledExtensions` in page_config).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { Access, IIdentity, IInfo, RtcPresenceClient } from './api';
import { CursorWatcher } from './cursors';
import { EndReason } from './ended';
import { PresenceModel } from './presence';

export namespace CommandIDs {
  export const openSharing = 'rtc-presence:open-sharing';
  export const showCollaborators = 'rtc-presence:show-collaborators';
}

/** Plugin ids (the core keeps the id that owns the settings schema). */
export namespace PluginIDs {
  export const core = 'rtc-presence:plugin';
  export const sharing = 'rtc-presence:sharing';
  export const collaborators = 'rtc-presence:collaborators';
  export const badge = 'rtc-presence:badge';
  export const cursorNames = 'rtc-presence:cursor-names';
  export const connectionLost = 'rtc-presence:connection-lost';
  export const levels = 'rtc-presence:levels';
}

export type Role = 'owner' | 'guest';

export interface IRtcPresence {
  /** The server API. */
  readonly client: RtcPresenceClient;
  /** Who is on this server, live. */
  readonly presence: PresenceModel;
  /** Where remote cursors are in the notebooks open here. */
  readonly cursors: CursorWatcher;
  readonly trans: TranslationBundle;
  /** Owner, me, sharing availability (null until fetched). */
  readonly info: IInfo | null;
  /** My identity, as soon as it is known. */
  me(): IIdentity | null;
  /** My role on this server, or null while unknown. */
  role(): Role | null;
  /**
   * My access level on this server (the owner: `run`), or null while
   * unknown (a guest before the server answered).
   */
  access(): Access | null;
  /** Re-read `GET info` (after the server changed our level); emits `meChanged`. */
  refreshInfo(): Promise<void>;
  /** The owner's display name ("Alice Martin"). */
  ownerName(): string;
  /** Emitted when `info`, `me()`, `role()` or `access()` change. */
  readonly meChanged: ISignal<IRtcPresence, void>;
  /** Why this tab's access ended, or null while it lasts. */
  readonly ended: EndReason | null;
  readonly endedChanged: ISignal<IRtcPresence, EndReason>;
  /** End this tab's use of the server: the notice, then quiet (guests). */
  endAccess(reason: EndReason): void;
}

export const IRtcPresence = new Token<IRtcPresence>(
  'rtc-presence:IRtcPresence',
  'Presence, identity and access state of rtc-presence, shared by its plugins.'
);
