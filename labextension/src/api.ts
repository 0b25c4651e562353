/**
 * Typed client for the rtc-presence server API (see "API reference" in the
 * README). Requests go through the one helper in `request.ts`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { API_ROOT, requestAPI, statusOf } from './request';

/** What a person may do on this server (`/work/briefs/levels.md`). */
export type Access = 'view' | 'edit' | 'run';

/** The levels, least first. */
export const LEVELS: readonly Access[] = ['view', 'edit', 'run'];

/** Whether `value` is one of the levels. */
export function isAccess(value: unknown): value is Access {
  return typeof value === 'string' && (LEVELS as string[]).includes(value);
}

/** The public identity of a person, as the server reports it. */
export interface IIdentity {
  username: string;
  display_name: string;
  initials: string;
  color: string;
  avatar_url?: string | null;
  role?: 'owner' | 'guest' | string;
  /** Their access level (the owner: `run`). */
  access?: Access;
  name?: string;
}

/** One level offered by the server, with what it allows in plain words. */
export interface ILevelInfo {
  access: Access;
  description: string;
}

export interface IInfo {
  owner: IIdentity;
  /** Display name of the owner (contract item 3; else `owner.display_name`). */
  owner_display_name?: string;
  me: IIdentity;
  sharing: { available: boolean; reason: string | null };
  invite_lifetime: { default: number; min: number; max: number };
  hub: boolean;
  /** The levels the owner can give, for the sharing dialog. */
  levels?: ILevelInfo[];
}

export interface IDocumentActivity {
  path: string;
  room_id: string;
  edits_recent: number;
  last_edit: string | null;
}

/** What a person is doing, decided by the server (contract item 2). */
export type Activity = 'editing' | 'viewing' | 'active' | 'idle';

export interface IPerson extends IIdentity {
  joined_at: string;
  connections: number;
  documents: IDocumentActivity[];
  current: string | null;
  last_activity: string | null;
  activity?: Activity;
  /** What they have running now (a cell of a notebook), or null. */
  running?: IRunning | null;
}

/** A person's running execution (presence rows, issue 15). */
export interface IRunning {
  path: string | null;
  cell_id: string | null;
  kernel_id: string;
  since: string;
}

export interface IInvite {
  id: string;
  url?: string;
  created_at: string;
  expires_at: string;
  uses: number;
  last_used: string | null;
  /** The level the link gives (missing from servers without levels). */
  access?: Access;
  /** Seconds of access from each acceptance; null: until revoked. */
  access_for?: number | null;
}

/** What a new link gives. */
export interface IInviteOptions {
  access: Access;
  /** Seconds of access from each acceptance; null: until revoked. */
  access_for: number | null;
}

/** A change of a guest's access (`PATCH guests/{name}`). */
export interface IGuestAccessChange {
  access?: Access;
  access_expires_at?: string | null;
}

export interface IGuest extends IIdentity {
  accepted_at: string | null;
  online: boolean;
  /** When their access ends by itself (ISO 8601 UTC), or null. */
  access_expires_at?: string | null;
  /** Kernels others started that they ran code in (a revoke can restart them). */
  ran_code_in?: ISharedKernel[];
}

export interface ISharedKernel {
  kernel_id: string;
  /** The notebook of the kernel's session, when it has one. */
  path: string | null;
}

export interface IRevokedGuest extends IIdentity {
  revoked_at: string | null;
  /** Last time the server refused them since the revocation (contract item 1). */
  last_attempt_at?: string | null;
  /** How many times they were refused since the revocation. */
  attempts?: number;
}

export interface IGuestList {
  guests: IGuest[];
  revoked: IRevokedGuest[];
}

/** Whether `err` is the server's "your access was revoked" refusal. */
export function isRevokedError(err: unknown): boolean {
  return (
    statusOf(err) === 403 &&
    err instanceof Error &&
    /revoked/i.test(err.message)
  );
}

export class RtcPresenceClient {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** Emitted when any call was refused because our access was revoked. */
  get refused(): ISignal<this, void> {
    return this._refused;
  }

  /** The websocket URL of the presence stream. */
  streamUrl(): string {
    let url = URLExt.join(this.settings.wsUrl, API_ROOT, 'presence/stream');
    if (this.settings.token) {
      url += `?token=${encodeURIComponent(this.settings.token)}`;
    }
    return url;
  }

  info(): Promise<IInfo> {
    return this._request<IInfo>('info');
  }

  presence(): Promise<{ people: IPerson[] }> {
    return this._request('presence');
  }

  listInvites(): Promise<{ invites: IInvite[] }> {
    return this._request('invites');
  }

  createInvite(expiresIn: number, options?: IInviteOptions): Promise<IInvite> {
    return this._request<IInvite>('invites', {
      method: 'POST',
      body: JSON.stringify({ expires_in: expiresIn, ...options })
    });
  }

  revokeInvite(id: string): Promise<void> {
    return this._request(`invites/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  revokeAllInvites(): Promise<void> {
    return this._request('invites', { method: 'DELETE' });
  }

  listGuests(): Promise<IGuestList> {
    return this._request('guests');
  }

  /** Revoke one person; `restartKernels`: also restart the shared kernels
   * they ran code in (what their code left running there ends too). */
  revokeGuest(
    username: string,
    restartKernels = false
  ): Promise<{ username: string; closed_connections: number }> {
    const query = restartKernels ? '?restart_kernels=true' : '';
    return this._request(`guests/${encodeURIComponent(username)}${query}`, {
      method: 'DELETE'
    });
  }

  revokeAllGuests(): Promise<{
    revoked: string[];
    closed_connections: number;
  }> {
    return this._request('guests', { method: 'DELETE' });
  }

  /** Change a guest's level or end of access (owner only). */
  changeGuest(username: string, change: IGuestAccessChange): Promise<IGuest> {
    return this._request<IGuest>(`guests/${encodeURIComponent(username)}`, {
      method: 'PATCH',
      body: JSON.stringify(change)
    });
  }

  allowGuest(username: string): Promise<void> {
    return this._request(`guests/${encodeURIComponent(username)}/allow`, {
      method: 'POST'
    });
  }

  private async _request<T>(path: string, init: RequestInit = {}): Promise<T> {
    try {
      return await requestAPI<T>(this.settings, path, init);
    } catch (err) {
      if (isRevokedError(err)) {
        this._refused.emit();
      }
      throw err;
    }
  }

  private _refused = new Signal<this, void>(this);
}
