/**
 * The collaborators side panel: one row per person on this server, with what
 * they are looking at and doing, live from the presence stream.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { describeActivity } from './activity';
import { IPerson } from './api';
import { useSignal, useTick } from './common';
import { cursorCellIndex, findNotebook } from './cursors';
import { ActivitySection } from './execution/section';
import { RunningLine } from './execution/running';
import { FollowButton } from './follow/button';
import { PersonRow } from './panelrow';
import { IRtcPresence } from './tokens';

export const PANEL_ID = 'rtc-presence-collaborators';

export interface IPanelProps {
  rtc: IRtcPresence;
  onOpenPerson: (person: IPerson) => void;
  onRevoke: (person: IPerson) => void;
  /** Open the sharing dialog, if that plugin is there. */
  onOpenSharing: (() => void) | null;
}

function statusLine(rtc: IRtcPresence): string | null {
  const { presence, trans } = rtc;
  switch (presence.status) {
    case 'connecting':
      return trans.__('Connecting…');
    case 'closed':
      return trans.__('Disconnected, reconnecting…');
    default:
      return null;
  }
}

function CollaboratorsPanel(props: IPanelProps): JSX.Element {
  const { rtc } = props;
  const { presence, cursors, trans } = rtc;
  useSignal(presence.changed);
  useSignal(rtc.meChanged);
  useSignal(cursors.changed);
  const now = useTick(30000);
  const me = rtc.me();
  const iAmOwner = rtc.role() === 'owner';
  const people = Array.from(presence.people.values()).sort((a, b) => {
    if ((a.role === 'owner') !== (b.role === 'owner')) {
      return a.role === 'owner' ? -1 : 1;
    }
    return a.joined_at < b.joined_at ? -1 : a.joined_at > b.joined_at ? 1 : 0;
  });
  const status = statusLine(rtc);
  return (
    <div className="rtc-Panel">
      <header className="rtc-PanelHeader">
        <h2>{trans.__('Collaborators')}</h2>
        {props.onOpenSharing && (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject rtc-Small"
            aria-label={trans.__('Open user sharing menu')}
            onClick={props.onOpenSharing}
          >
            {trans.__('User sharing…')}
          </button>
        )}
      </header>
      {status && (
        <p className="rtc-Muted rtc-PanelStatus" role="status">
          {status}
        </p>
      )}
      {rtc.ended && (
        <p className="rtc-Error" role="alert">
          {rtc.ended === 'revoked'
            ? trans.__('Your access to this server was revoked by its owner.')
            : rtc.ended === 'expired'
              ? trans.__('Your access to this server has expired.')
              : trans.__(
                  '%1 stopped the server; your access ended.',
                  rtc.ownerName()
                )}
        </p>
      )}
      <ul className="rtc-People rtc-Collaborators" aria-live="polite">
        {people.map(person => {
          const isMe = person.username === me?.username;
          const panel = person.current
            ? findNotebook(cursors.tracker, person.current)
            : null;
          const cell =
            panel && !isMe ? cursorCellIndex(panel, person.username) : null;
          return (
            <PersonRow
              key={person.username}
              person={person}
              isMe={isMe}
              canRevoke={iAmOwner && person.role !== 'owner' && !isMe}
              activity={describeActivity(person, now, cell, trans)}
              onOpen={() => props.onOpenPerson(person)}
              onRevoke={() => props.onRevoke(person)}
              trans={trans}
              extra={
                <>
                  <RunningLine
                    person={person}
                    tracker={cursors.tracker}
                    trans={trans}
                  />
                  <FollowButton person={person} isMe={isMe} trans={trans} />
                </>
              }
            />
          );
        })}
      </ul>
      {people.length <= 1 && presence.status === 'open' ? (
        <p className="rtc-Muted rtc-Empty">
          {iAmOwner
            ? trans.__(
                'Nobody else is here. Use User sharing to invite people.'
              )
            : trans.__('Nobody else is here.')}
        </p>
      ) : null}
      <ActivitySection trans={trans} />
    </div>
  );
}

export class CollaboratorsWidget extends ReactWidget {
  constructor(private _props: IPanelProps) {
    super();
    this.id = PANEL_ID;
    this.addClass('rtc-PanelWidget');
  }

  render(): JSX.Element {
    return <CollaboratorsPanel {...this._props} />;
  }
}
