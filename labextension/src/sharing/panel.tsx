/**
 * The body of the "User sharing" dialog.
 *
 * Owner: invite links, people with access, revoked people, live. Guest:
 * whose server this is, and that the owner controls access. Every failure
 * is shown in the dialog with the server's message.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IInfo, RtcPresenceClient } from '../api';
import { Avatar, Name } from '../common';
import { PresenceModel } from '../presence';
import { ErrorBox } from './controls';
import { InviteLinks } from './links';
import { PeopleWithAccess } from './people';
import { RevokedPeople } from './revoked';
import { useSharing } from './useSharing';

export interface ISharingProps {
  client: RtcPresenceClient;
  presence: PresenceModel;
  trans: TranslationBundle;
  /** Info already fetched by the core plugin, if any. */
  info?: IInfo | null;
  /** Open the collaborators panel (offered to guests), if available. */
  onShowCollaborators?: (() => void) | null;
}

/** Selector of the control that gets the focus when the dialog opens. */
export const FIRST_CONTROL = '.rtc-Generate, .rtc-GuestFirst, .rtc-Refresh';

function GuestView(props: {
  info: IInfo;
  onShowCollaborators?: (() => void) | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { info, trans } = props;
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
      {props.onShowCollaborators && (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject rtc-GuestFirst"
          onClick={props.onShowCollaborators}
        >
          {trans.__('Show who is here')}
        </button>
      )}
    </div>
  );
}

export function SharingPanel(props: ISharingProps): JSX.Element {
  const { client, trans } = props;
  const rootRef = React.useRef<HTMLDivElement>(null);
  // After a row disappears, keep keyboard focus inside the dialog.
  const keepFocus = () =>
    window.setTimeout(() => {
      const root = rootRef.current;
      if (root && !root.contains(document.activeElement)) {
        root.querySelector<HTMLElement>(FIRST_CONTROL)?.focus();
      }
    }, 0);
  const sharing = useSharing({
    client,
    presence: props.presence,
    info: props.info ?? null,
    onSettled: keepFocus
  });
  const { info, error } = sharing;
  const errorBox = error ? (
    <ErrorBox
      message={error}
      onDismiss={info ? () => sharing.setError(null) : null}
      trans={trans}
    />
  ) : null;
  const refresh = (
    <div className="rtc-Row rtc-Row-end">
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject rtc-Refresh"
        aria-label={trans.__('Refresh')}
        aria-disabled={sharing.busy !== null}
        onClick={() => {
          sharing.setError(null);
          void sharing.refresh();
        }}
      >
        {trans.__('Refresh')}
      </button>
    </div>
  );

  if (!info) {
    return (
      <div className="rtc-Sharing" ref={rootRef}>
        {errorBox ?? <p className="rtc-Muted">{trans.__('Loading…')}</p>}
        {refresh}
      </div>
    );
  }
  if (info.me.role !== 'owner') {
    return (
      <div ref={rootRef}>
        <GuestView
          info={info}
          onShowCollaborators={props.onShowCollaborators}
          trans={trans}
        />
        {errorBox}
      </div>
    );
  }
  const section = { sharing, client, trans };
  return (
    <div className="rtc-Sharing" aria-busy={!sharing.loaded} ref={rootRef}>
      <div className="rtc-Warning" role="note">
        <strong>{trans.__('Warning: ')}</strong>
        {trans.__(
          'anyone who accepts a link can read every file on this server and run code as you, unless the link says "can view" or "can edit". Do not keep secrets here while sharing.'
        )}
      </div>
      {errorBox}
      <div className="rtc-Status" role="status" aria-live="polite">
        {sharing.status}
      </div>
      {!info.sharing.available ? (
        <div className="rtc-Unavailable" role="alert">
          <strong>{trans.__('Sharing is not available: ')}</strong>
          {info.sharing.reason ?? trans.__('no reason given')}
        </div>
      ) : (
        <>
          <InviteLinks {...section} info={info} />
          <PeopleWithAccess {...section} />
          <RevokedPeople {...section} />
        </>
      )}
      {refresh}
    </div>
  );
}
