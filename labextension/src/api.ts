/**
 * Typed client for the rtc-presence server API (see "API reference" in the README).
 *
 * Every request goes through `ServerConnection.makeRequest`, which adds the
 * XSRF header and the token exactly like JupyterLab's own services do.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The public identity of a person, as the server reports it. */
export interface IIdentity {
  username: string;
  display_name: string;
  initials: string;
  color: string;
  avatar_url?: string | null;
  role?: 'owner' | 'guest' | string;
  name?: string;
}

export interface IInfo {
  owner: IIdentity;
  me: IIdentity;
  sharing: { available: boolean; reason: string | null };
  invite_lifetime: { default: number; min: number; max: number };
  hub: boolean;
}

export interface IDocumentActivity {
  path: string;
  room_id: string;
  edits_recent: number;
  last_edit: string | null;
}

export interface IPerson extends IIdentity {
  joined_at: string;
  connections: number;
  documents: IDocumentActivity[];
  current: string | null;
  last_activity: string | null;
}

export interface IInvite {
  id: string;
  url?: string;
  created_at: string;
  expires_at: string;
  uses: number;
  last_used: string | null;
}

export interface IGuest extends IIdentity {
  accepted_at: string | null;
  online: boolean;
}

export interface IRevokedGuest extends IIdentity {
  revoked_at: string | null;
}

export interface IGuestList {
  guests: IGuest[];
  revoked: IRevokedGuest[];
}

/** An API failure with the server's readable `message`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The readable message of any error (never an empty string). */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    return err.message;
  }
  if (err instanceof ServerConnection.NetworkError) {
    return `The server could not be reached (${err.message}).`;
  }
  if (err instanceof Error && err.message) {
    return err.message;
  }
  return String(err) || 'Unknown error';
}

const API_ROOT = 'api/rtc-presence';

export class RtcPresenceClient {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

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

  createInvite(expiresIn: number): Promise<IInvite> {
    return this._request<IInvite>('invites', {
      method: 'POST',
      body: JSON.stringify({ expires_in: expiresIn })
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

  revokeGuest(
    username: string
  ): Promise<{ username: string; closed_connections: number }> {
    return this._request(`guests/${encodeURIComponent(username)}`, {
      method: 'DELETE'
    });
  }

  revokeAllGuests(): Promise<{
    revoked: string[];
    closed_connections: number;
  }> {
    return this._request('guests', { method: 'DELETE' });
  }

  allowGuest(username: string): Promise<void> {
    return this._request(`guests/${encodeURIComponent(username)}/allow`, {
      method: 'POST'
    });
  }

  private async _request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, API_ROOT, path);
    if (init.body !== undefined) {
      init.headers = { 'Content-Type': 'application/json', ...init.headers };
    }
    // Throws ServerConnection.NetworkError when the server is unreachable.
    const response = await ServerConnection.makeRequest(
      url,
      init,
      this.settings
    );
    const text = await response.text();
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
    }
    if (!response.ok) {
      const message =
        data &&
        typeof data === 'object' &&
        typeof (data as { message?: unknown }).message === 'string' &&
        (data as { message: string }).message
          ? (data as { message: string }).message
          : `${response.status} ${response.statusText || 'error'}`.trim();
      throw new ApiError(message, response.status);
    }
    return data as T;
  }
}
