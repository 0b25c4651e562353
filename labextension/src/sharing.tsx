/**
 * The "User sharing" dialog.
 *
 * Owner: generate invite links (with a lifetime), copy them, see and revoke
 * active links, see and revoke the people with access, allow revoked people
 * again. Guest: whose server this is, and that the owner controls access.
 *
 * Everything updates live while the dialog is open (the presence stream tells
 * us when guests or invites changed), and every failure is shown in the
 * dialog with the server's message.
 */
import { Clipboard, Dialog, ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import {
  errorMessage,
  IGuest,
  IInfo,
  IInvite,
  IRevokedGuest,
  RtcPresenceClient
} from './api';
import {
  Avatar,
  displayName,
  formatDuration,
  formatTime,
  Name,
  parseTime,
  useTick
} from './common';
import { PresenceModel } from './presence';

/** Lifetimes offered for a new link, filtered by the server's bounds. */
const LIFETIMES: { seconds: number; label: string }[] = [
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 900, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 8 * 3600, label: '8 hours' },
  { seconds: 86400, label: '1 day' },
  { seconds: 7 * 86400, label: '1 week' }
];
const DEFAULT_LIFETIME = 3600;

export interface ISharingProps {
  client: RtcPresenceClient;
  presence: PresenceModel;
  trans: TranslationBundle;
  /** Info already fetched by the plugin, if any. */
  info?: IInfo | null;
}

type Confirm =
  | { kind: 'guest'; username: string }
  | { kind: 'all-guests' }
  | { kind: 'all-invites' }
  | null;

function lifetimeOptions(info: IInfo): { seconds: number; label: string }[] {
  const { min, max } = info.invite_lifetime;
  const options = LIFETIMES.filter(o => o.seconds >= min && o.seconds <= max);
  for (const extra of [info.invite_lifetime.default, min, max]) {
    if (
      extra >= min &&
      extra <= max &&
      !options.some(o => o.seconds === extra)
    ) {
      options.push({ seconds: extra, label: formatDuration(extra) });
    }
  }
  return options.sort((a, b) => a.seconds - b.seconds);
}

function defaultLifetime(info: IInfo): number {
  const { min, max } = info.invite_lifetime;
  if (DEFAULT_LIFETIME >= min && DEFAULT_LIFETIME <= max) {
    return DEFAULT_LIFETIME;
  }
  return Math.min(max, Math.max(min, info.invite_lifetime.default));
}

/** "in 59 min 58 s" or "expired", live. */
function Countdown(props: {
  expiresAt: string;
  trans: TranslationBundle;
}): JSX.Element {
  const now = useTick(1000);
  const end = parseTime(props.expiresAt);
  if (!end) {
    return <span>—</span>;
  }
  const left = (end.getTime() - now) / 1000;
  return (
    <span className="rtc-Countdown" data-expired={left <= 0}>
      {left <= 0
        ? props.trans.__('expired')
        : props.trans.__('in %1', formatDuration(left))}
    </span>
  );
}

export function SharingPanel(props: ISharingProps): JSX.Element {
  const { client, presence, trans } = props;
  const [info, setInfo] = React.useState<IInfo | null>(props.info ?? null);
  const [error, setError] = React.useState<string | null>(null);
  const [invites, setInvites] = React.useState<IInvite[]>([]);
  const [guests, setGuests] = React.useState<IGuest[]>([]);
  const [revoked, setRevoked] = React.useState<IRevokedGuest[]>([]);
  const [loaded, setLoaded] = React.useState(false);
  const [newLink, setNewLink] = React.useState<IInvite | null>(null);
  const [copied, setCopied] = React.useState(false);
  const [lifetime, setLifetime] = React.useState<number>(DEFAULT_LIFETIME);
  const [busy, setBusy] = React.useState<string | null>(null);
  const [confirm, setConfirm] = React.useState<Confirm>(null);
  const [status, setStatus] = React.useState('');
  const mounted = React.useRef(true);
  const busyRef = React.useRef(false);
  const rootRef = React.useRef<HTMLDivElement>(null);
  const lifetimeId = React.useId();

  const isOwner = info?.me?.role === 'owner';

  const refresh = React.useCallback(async () => {
    try {
      const current = await client.info();
      if (!mounted.current) {
        return;
      }
      setInfo(current);
      if (current.me.role !== 'owner' || !current.sharing.available) {
        setLoaded(true);
        return;
      }
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
      setLoaded(true);
    } catch (err) {
      if (mounted.current) {
        setError(errorMessage(err));
        setLoaded(true);
      }
    }
  }, [client]);

  // Initial load, and live updates while the dialog is open.
  React.useEffect(() => {
    mounted.current = true;
    void refresh();
    let timer = 0;
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

  React.useEffect(() => {
    if (info) {
      setLifetime(defaultLifetime(info));
    }
  }, [info?.invite_lifetime.min, info?.invite_lifetime.max]);

  /** Run one action, show its failure, refresh afterwards. */
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
        setConfirm(null);
        await refresh();
        keepFocus();
      }
    }
  };

  /** After a row disappears, keep keyboard focus inside the dialog. */
  const keepFocus = () => {
    window.setTimeout(() => {
      const root = rootRef.current;
      if (!root || root.contains(document.activeElement)) {
        return;
      }
      const target =
        root.querySelector<HTMLButtonElement>('.rtc-Generate') ??
        root.querySelector<HTMLButtonElement>('button:not([disabled])');
      target?.focus();
    }, 0);
  };

  const generate = () =>
    run('generate', async () => {
      const invite = await client.createInvite(lifetime);
      setNewLink(invite);
      setCopied(false);
    });

  const copy = async () => {
    if (!newLink?.url) {
      return;
    }
    try {
      try {
        await navigator.clipboard.writeText(newLink.url);
      } catch {
        // No async clipboard (insecure origin or permission): use the
        // execCommand-based copy JupyterLab itself uses.
        Clipboard.copyToSystem(newLink.url);
      }
      setCopied(true);
      setStatus(trans.__('Link copied to the clipboard'));
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  if (!info) {
    return (
      <div className="rtc-Sharing">
        {error ? (
          <ErrorBox message={error} onDismiss={null} trans={trans} />
        ) : (
          <p className="rtc-Muted">{trans.__('Loading…')}</p>
        )}
        <div className="rtc-Row rtc-Row-end">
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject"
            aria-label={trans.__('Refresh')}
            onClick={() => {
              setError(null);
              void refresh();
            }}
          >
            {trans.__('Refresh')}
          </button>
        </div>
      </div>
    );
  }

  if (!isOwner) {
    return (
      <div className="rtc-Sharing rtc-Sharing-guest">
        <div className="rtc-Owner">
          <Avatar person={info.owner} />
          <p>
            {trans.__('This is the server of ')}
            <Name person={info.owner} className="rtc-Strong" />
            <span className="rtc-Muted">{` (${info.owner.username})`}</span>.
          </p>
        </div>
        <p>
          {trans.__(
            'The owner controls access: only they can invite people, and they can revoke your access at any time.'
          )}
        </p>
        {error && (
          <ErrorBox
            message={error}
            onDismiss={() => setError(null)}
            trans={trans}
          />
        )}
      </div>
    );
  }

  const options = lifetimeOptions(info);

  return (
    <div className="rtc-Sharing" aria-busy={!loaded} ref={rootRef}>
      <div className="rtc-Warning" role="note">
        <strong>{trans.__('Warning: ')}</strong>
        {trans.__(
          'anyone who accepts a link can read every file on this server and run code as you. Do not keep secrets here while sharing.'
        )}
      </div>

      {error && (
        <ErrorBox
          message={error}
          onDismiss={() => setError(null)}
          trans={trans}
        />
      )}
      <div className="rtc-Status" role="status" aria-live="polite">
        {status}
      </div>

      {!info.sharing.available ? (
        <div className="rtc-Unavailable" role="alert">
          <strong>{trans.__('Sharing is not available: ')}</strong>
          {info.sharing.reason ?? trans.__('no reason given')}
        </div>
      ) : (
        <>
          <section aria-labelledby="rtc-sharing-links">
            <h3 id="rtc-sharing-links">{trans.__('Invite links')}</h3>
            <div className="rtc-Row">
              <label htmlFor={lifetimeId}>{trans.__('Valid for')}</label>
              <select
                id={lifetimeId}
                className="rtc-Lifetime"
                value={lifetime}
                onChange={e => setLifetime(Number(e.target.value))}
              >
                {options.map(o => (
                  <option key={o.seconds} value={o.seconds}>
                    {trans.__(o.label)}
                  </option>
                ))}
              </select>
              <button
                type="button"
                className="jp-Button jp-mod-styled jp-mod-accept rtc-Generate"
                aria-label={trans.__('Generate link')}
                aria-disabled={busy !== null}
                onClick={() => void generate()}
              >
                {trans.__('Generate link')}
              </button>
            </div>
            {newLink && newLink.url && (
              <div className="rtc-NewLink" data-invite-id={newLink.id}>
                <div className="rtc-Row">
                  <code className="rtc-LinkText" title={newLink.url}>
                    {newLink.url}
                  </code>
                  <button
                    type="button"
                    className="jp-Button jp-mod-styled jp-mod-accept rtc-Copy"
                    aria-label={trans.__('Copy link')}
                    onClick={() => void copy()}
                  >
                    {copied ? trans.__('Copied') : trans.__('Copy')}
                  </button>
                </div>
                <p className="rtc-Muted">
                  {trans.__('Expires at %1 ', formatTime(newLink.expires_at))}
                  (<Countdown expiresAt={newLink.expires_at} trans={trans} />
                  ).{' '}
                  {trans.__(
                    'Anyone with the link and an account on this hub can use it until then; it is shown only once.'
                  )}
                </p>
              </div>
            )}
            <h4>{trans.__('Active links')}</h4>
            {invites.length === 0 ? (
              <p className="rtc-Muted rtc-Empty">
                {loaded ? trans.__('No active links.') : trans.__('Loading…')}
              </p>
            ) : (
              <table className="rtc-Table rtc-Invites">
                <thead>
                  <tr>
                    <th scope="col">{trans.__('Link')}</th>
                    <th scope="col">{trans.__('Expires')}</th>
                    <th scope="col">{trans.__('Uses')}</th>
                    <th scope="col">{trans.__('Last use')}</th>
                    <th scope="col">
                      <span className="rtc-VisuallyHidden">
                        {trans.__('Actions')}
                      </span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {invites.map(inv => (
                    <tr key={inv.id} data-invite-id={inv.id}>
                      <td>
                        <code>{inv.id}</code>
                        <div className="rtc-Muted">
                          {trans.__('created %1', formatTime(inv.created_at))}
                        </div>
                      </td>
                      <td>
                        {formatTime(inv.expires_at)}{' '}
                        <Countdown expiresAt={inv.expires_at} trans={trans} />
                      </td>
                      <td className="rtc-Uses">{inv.uses}</td>
                      <td>{formatTime(inv.last_used)}</td>
                      <td>
                        <button
                          type="button"
                          className="jp-Button jp-mod-styled jp-mod-warn rtc-Small"
                          aria-label={trans.__('Revoke link %1', inv.id)}
                          aria-disabled={busy !== null}
                          onClick={() =>
                            void run(
                              `invite:${inv.id}`,
                              async () => {
                                await client.revokeInvite(inv.id);
                                if (newLink?.id === inv.id) {
                                  setNewLink(null);
                                }
                              },
                              trans.__('Link %1 revoked', inv.id)
                            )
                          }
                        >
                          {trans.__('Revoke')}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <ConfirmButton
              label={trans.__('Revoke all share links')}
              confirmText={trans.__(
                'Revoke every share link? People who already accepted keep their access.'
              )}
              active={confirm?.kind === 'all-invites'}
              disabled={invites.length === 0}
              busy={busy !== null}
              onAsk={() => setConfirm({ kind: 'all-invites' })}
              onCancel={() => setConfirm(null)}
              onConfirm={() =>
                void run(
                  'all-invites',
                  async () => {
                    await client.revokeAllInvites();
                    setNewLink(null);
                  },
                  trans.__('All share links revoked')
                )
              }
              trans={trans}
            />
          </section>

          <section aria-labelledby="rtc-sharing-people">
            <h3 id="rtc-sharing-people">{trans.__('People with access')}</h3>
            {guests.length === 0 ? (
              <p className="rtc-Muted rtc-Empty">
                {loaded
                  ? trans.__('Nobody else has access.')
                  : trans.__('Loading…')}
              </p>
            ) : (
              <ul className="rtc-People rtc-Guests">
                {guests.map(g => (
                  <li
                    key={g.username}
                    className="rtc-Person"
                    data-username={g.username}
                  >
                    <Avatar person={g} />
                    <div className="rtc-PersonText">
                      <div className="rtc-Row rtc-Tight">
                        <Name person={g} className="rtc-Strong" />
                        {g.online && (
                          <span className="rtc-Online">
                            {trans.__('online now')}
                          </span>
                        )}
                      </div>
                      <div className="rtc-Muted">
                        <span className="rtc-Username" title={g.username}>
                          {g.username}
                        </span>
                        {' · '}
                        {trans.__('accepted %1', formatTime(g.accepted_at))}
                      </div>
                    </div>
                    <ConfirmButton
                      label={trans.__('Revoke')}
                      ariaLabel={trans.__(
                        'Revoke access for %1',
                        displayName(g)
                      )}
                      confirmText={trans.__(
                        'Revoke access for %1? They are disconnected at once.',
                        displayName(g)
                      )}
                      active={
                        confirm?.kind === 'guest' &&
                        confirm.username === g.username
                      }
                      disabled={false}
                      busy={busy !== null}
                      onAsk={() =>
                        setConfirm({ kind: 'guest', username: g.username })
                      }
                      onCancel={() => setConfirm(null)}
                      onConfirm={() =>
                        void run(
                          `guest:${g.username}`,
                          () => client.revokeGuest(g.username),
                          trans.__('Access revoked for %1', displayName(g))
                        )
                      }
                      trans={trans}
                    />
                  </li>
                ))}
              </ul>
            )}
            <ConfirmButton
              label={trans.__('Revoke all users')}
              confirmText={trans.__(
                'Revoke access for everybody? They are disconnected at once.'
              )}
              active={confirm?.kind === 'all-guests'}
              disabled={guests.length === 0}
              busy={busy !== null}
              onAsk={() => setConfirm({ kind: 'all-guests' })}
              onCancel={() => setConfirm(null)}
              onConfirm={() =>
                void run(
                  'all-guests',
                  () => client.revokeAllGuests(),
                  trans.__('Access revoked for everybody')
                )
              }
              trans={trans}
            />
          </section>

          {revoked.length > 0 && (
            <section aria-labelledby="rtc-sharing-revoked">
              <h3 id="rtc-sharing-revoked">{trans.__('People revoked')}</h3>
              <ul className="rtc-People rtc-Revoked">
                {revoked.map(r => (
                  <li
                    key={r.username}
                    className="rtc-Person"
                    data-username={r.username}
                  >
                    <Avatar person={r} />
                    <div className="rtc-PersonText">
                      <Name person={r} className="rtc-Strong" />
                      <div className="rtc-Muted">
                        <span className="rtc-Username" title={r.username}>
                          {r.username}
                        </span>
                        {' · '}
                        {trans.__('revoked %1', formatTime(r.revoked_at))}
                      </div>
                    </div>
                    <button
                      type="button"
                      className="jp-Button jp-mod-styled jp-mod-reject rtc-Small"
                      aria-label={trans.__('Allow %1 again', displayName(r))}
                      aria-disabled={busy !== null}
                      onClick={() =>
                        void run(
                          `allow:${r.username}`,
                          () => client.allowGuest(r.username),
                          trans.__(
                            '%1 may use a new link again',
                            displayName(r)
                          )
                        )
                      }
                    >
                      {trans.__('Allow again')}
                    </button>
                  </li>
                ))}
              </ul>
              <p className="rtc-Muted">
                {trans.__(
                  'Allowing someone again does not give access back: they need a new invite link.'
                )}
              </p>
            </section>
          )}
        </>
      )}

      <div className="rtc-Row rtc-Row-end">
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject rtc-Refresh"
          aria-label={trans.__('Refresh')}
          aria-disabled={busy !== null}
          onClick={() => {
            setError(null);
            void refresh();
          }}
        >
          {trans.__('Refresh')}
        </button>
      </div>
    </div>
  );
}

/** A button that asks for confirmation inline (no nested dialog). */
function ConfirmButton(props: {
  label: string;
  ariaLabel?: string;
  confirmText: string;
  active: boolean;
  disabled: boolean;
  busy: boolean;
  onAsk: () => void;
  onCancel: () => void;
  onConfirm: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const confirmRef = React.useRef<HTMLButtonElement>(null);
  const askRef = React.useRef<HTMLButtonElement>(null);
  const wasActive = React.useRef(false);
  React.useEffect(() => {
    if (props.active) {
      confirmRef.current?.focus();
    } else if (wasActive.current) {
      askRef.current?.focus();
    }
    wasActive.current = props.active;
  }, [props.active]);

  if (!props.active) {
    return (
      <button
        ref={askRef}
        type="button"
        className="jp-Button jp-mod-styled jp-mod-warn rtc-Small"
        aria-label={props.ariaLabel ?? props.label}
        disabled={props.disabled}
        aria-disabled={props.busy}
        onClick={() => {
          if (!props.busy) {
            props.onAsk();
          }
        }}
      >
        {props.label}
      </button>
    );
  }
  return (
    <div className="rtc-Confirm" role="group" aria-label={props.confirmText}>
      <span className="rtc-ConfirmText">{props.confirmText}</span>
      <button
        ref={confirmRef}
        type="button"
        className="jp-Button jp-mod-styled jp-mod-warn rtc-Small"
        aria-label={props.trans.__(
          'Confirm: %1',
          props.ariaLabel ?? props.label
        )}
        onClick={props.onConfirm}
      >
        {props.trans.__('Confirm')}
      </button>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject rtc-Small"
        aria-label={props.trans.__('Cancel')}
        onClick={props.onCancel}
      >
        {props.trans.__('Cancel')}
      </button>
    </div>
  );
}

function ErrorBox(props: {
  message: string;
  onDismiss: (() => void) | null;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <div className="rtc-Error" role="alert">
      <span className="rtc-ErrorText">{props.message}</span>
      {props.onDismiss && (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject rtc-Small"
          aria-label={props.trans.__('Dismiss error')}
          onClick={props.onDismiss}
        >
          {props.trans.__('Dismiss')}
        </button>
      )}
    </div>
  );
}

let openDialog: Dialog<unknown> | null = null;

/** Open the sharing dialog (or focus it if it is already open). */
export async function openSharingDialog(props: ISharingProps): Promise<void> {
  if (openDialog && !openDialog.isDisposed) {
    openDialog.activate();
    return;
  }
  const body = ReactWidget.create(<SharingPanel {...props} />);
  body.addClass('rtc-SharingBody');
  const dialog = new Dialog({
    title: props.trans.__('User sharing'),
    body,
    buttons: [Dialog.cancelButton({ label: props.trans.__('Close') })],
    hasClose: true
  });
  dialog.addClass('rtc-SharingDialog');
  openDialog = dialog;
  // JupyterLab's Dialog computes where Tab wraps to when it is attached,
  // before the React body has rendered, so Tab on the last button would
  // stay there. Wrap Tab / Shift+Tab ourselves, before the Dialog sees it.
  const trapTab = (event: KeyboardEvent) => {
    const active = document.activeElement;
    if (event.key !== 'Tab' || !active || !dialog.node.contains(active)) {
      return;
    }
    const focusable = Array.from(
      dialog.node.querySelectorAll<HTMLElement>(
        'button, select, input, textarea, a[href], [tabindex]:not([tabindex="-1"])'
      )
    ).filter(el => !el.hasAttribute('disabled') && el.offsetParent !== null);
    if (focusable.length === 0) {
      return;
    }
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const target =
      !event.shiftKey && active === last
        ? first
        : event.shiftKey && active === first
          ? last
          : null;
    if (target) {
      event.preventDefault();
      event.stopPropagation();
      target.focus();
    }
  };
  document.addEventListener('keydown', trapTab, true);
  // When the focused element goes away (a dismissed error, a revoked row),
  // the browser drops focus to <body>, where Escape and Tab no longer reach
  // the dialog: bring it back inside.
  const refocus = new MutationObserver(() => {
    const active = document.activeElement;
    if (!dialog.isDisposed && (!active || active === document.body)) {
      dialog.node
        .querySelector<HTMLElement>(
          '.rtc-Generate, .rtc-Refresh, .jp-Dialog-footer .jp-Dialog-button'
        )
        ?.focus();
    }
  });
  refocus.observe(dialog.node, { childList: true, subtree: true });
  try {
    await dialog.launch();
  } finally {
    refocus.disconnect();
    document.removeEventListener('keydown', trapTab, true);
    openDialog = null;
    dialog.dispose();
  }
}
