/**
 * The sharing dialog's data: server info, invite links, people with access
 * and revoked people, refreshed live from the presence stream's "access"
 * messages while the dialog is open; plus one `run` for every action
 * (one at a time, its failure shown, a refresh afterwards).
 */
import * as React from 'react';

import {
  IGuest,
  IInfo,
  IInvite,
  IRevokedGuest,
  RtcPresenceClient
} from '../api';
import { PresenceModel } from '../presence';
import { errorMessage } from '../request';

export interface ISharing {
  info: IInfo | null;
  invites: IInvite[];
  guests: IGuest[];
  revoked: IRevokedGuest[];
  /** The first lists arrived. */
  loaded: boolean;
  error: string | null;
  /** Last success, read by screen readers ("Link ... revoked"). */
  status: string;
  /** Key of the action in flight, or null. */
  busy: string | null;
  /** The link just created (its URL is shown only once). */
  newLink: IInvite | null;
  setNewLink: (invite: IInvite | null) => void;
  setError: (message: string | null) => void;
  setStatus: (message: string) => void;
  refresh: () => Promise<void>;
  run: (
    key: string,
    action: () => Promise<unknown>,
    done?: string
  ) => Promise<void>;
}

export interface IUseSharingOptions {
  client: RtcPresenceClient;
  presence: PresenceModel;
  info: IInfo | null;
  /** Called after every action, once the lists are fresh. */
  onSettled?: () => void;
}

export function useSharing(options: IUseSharingOptions): ISharing {
  const { client, presence } = options;
  const [info, setInfo] = React.useState<IInfo | null>(options.info);
  const [invites, setInvites] = React.useState<IInvite[]>([]);
  const [guests, setGuests] = React.useState<IGuest[]>([]);
  const [revoked, setRevoked] = React.useState<IRevokedGuest[]>([]);
  const [loaded, setLoaded] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [status, setStatus] = React.useState('');
  const [busy, setBusy] = React.useState<string | null>(null);
  const [newLink, setNewLink] = React.useState<IInvite | null>(null);
  const mounted = React.useRef(true);
  const busyRef = React.useRef(false);
  const settled = React.useRef(options.onSettled);
  settled.current = options.onSettled;

  const refresh = React.useCallback(async () => {
    try {
      const current = await client.info();
      if (!mounted.current) {
        return;
      }
      setInfo(current);
      if (current.me.role === 'owner' && current.sharing.available) {
        const [inv, gl] = await Promise.all([
          client.listInvites(),
          client.listGuests()
        ]);
        if (!mounted.current) {
          return;
        }
        setInvites(inv.invites);
        setGuests(gl.guests);
        setRevoked(gl.revoked);
      }
    } catch (err) {
      if (mounted.current) {
        setError(errorMessage(err));
      }
    } finally {
      if (mounted.current) {
        setLoaded(true);
      }
    }
  }, [client]);

  React.useEffect(() => {
    mounted.current = true;
    void refresh();
    let timer = 0;
    // Bursts of "access" messages (a refused guest retrying) give one refresh.
    const onAccess = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void refresh(), 150);
    };
    presence.accessChanged.connect(onAccess);
    return () => {
      mounted.current = false;
      window.clearTimeout(timer);
      presence.accessChanged.disconnect(onAccess);
    };
  }, [refresh, presence]);

  const run = async (
    key: string,
    action: () => Promise<unknown>,
    done?: string
  ) => {
    if (busyRef.current) {
      return;
    }
    busyRef.current = true;
    setBusy(key);
    setError(null);
    try {
      await action();
      if (done) {
        setStatus(done);
      }
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      busyRef.current = false;
      if (mounted.current) {
        setBusy(null);
        await refresh();
        settled.current?.();
      }
    }
  };

  return {
    info,
    invites,
    guests,
    revoked,
    loaded,
    error,
    status,
    busy,
    newLink,
    setNewLink,
    setError,
    setStatus,
    refresh,
    run
  };
}
