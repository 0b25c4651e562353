/**
 * The collaborators side panel: one row per person on this server, with what
 * they are looking at and doing, live from the presence stream.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { IIdentity, IPerson } from './api';
import {
  Avatar,
  baseName,
  displayName,
  formatTime,
  Name,
  parseTime,
  useTick,
  useSignal
} from './common';
import { CursorWatcher, cursorCellIndex, findNotebook } from './cursors';
import { PresenceModel } from './presence';

export const PANEL_ID = 'rtc-presence-collaborators';

export interface IPanelProps {
  presence: PresenceModel;
  cursors: CursorWatcher;
  me: () => IIdentity | null;
  meChanged: ISignal<unknown, void>;
  onOpenPerson: (person: IPerson) => void;
  onRevoke: (person: IPerson) => void;
  onOpenSharing: () => void;
  trans: TranslationBundle;
}

/** "editing cell 3 of a.ipynb", "editing a.ipynb" or "idle 4 min". */
export function describeActivity(
  person: IPerson,
  now: number,
  cellIndex: number | null,
  trans: TranslationBundle
): string {
  const current = person.current;
  const doc = current
    ? person.documents.find(d => d.path === current)
    : undefined;
  if (current && doc && doc.edits_recent > 0) {
    return cellIndex !== null
      ? trans.__('editing cell %1 of %2', cellIndex + 1, baseName(current))
      : trans.__('editing %1', baseName(current));
  }
  const last = parseTime(person.last_activity) ?? parseTime(person.joined_at);
  const minutes = last ? Math.floor((now - last.getTime()) / 60000) : 0;
  const idle =
    minutes < 1 ? trans.__('idle < 1 min') : trans.__('idle %1 min', minutes);
  return cellIndex !== null
    ? trans.__('%1, cursor in cell %2', idle, cellIndex + 1)
    : idle;
}

function PersonRow(props: {
  person: IPerson;
  isMe: boolean;
  canRevoke: boolean;
  now: number;
  cellIndex: number | null;
  onOpen: () => void;
  onRevoke: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { person, trans } = props;
  const name = displayName(person);
  const role = person.role === 'owner' ? 'owner' : 'guest';
  const activity = describeActivity(person, props.now, props.cellIndex, trans);
  const openLabel = person.current
    ? trans.__('Open %1, where %2 is', person.current, name)
    : trans.__('%1 has no document open', name);
  return (
    <li
      className="rtc-Person rtc-CollaboratorRow"
      data-username={person.username}
      data-role={role}
    >
      <button
        type="button"
        className="rtc-PersonMain"
        aria-label={openLabel}
        title={openLabel}
        disabled={!person.current}
        onClick={props.onOpen}
      >
        <Avatar person={person} />
        <span className="rtc-PersonText">
          <span className="rtc-Row rtc-Tight">
            <Name person={person} className="rtc-Strong" />
            <span className={`rtc-Tag rtc-Tag-${role}`}>
              {role === 'owner' ? trans.__('owner') : trans.__('guest')}
            </span>
            {props.isMe && (
              <span className="rtc-Muted rtc-You">{trans.__('(you)')}</span>
            )}
          </span>
          <span
            className="rtc-Doc rtc-Ellipsis"
            title={person.current ?? undefined}
          >
            {person.current
              ? baseName(person.current)
              : trans.__('no document open')}
          </span>
          <span
            className="rtc-Activity rtc-Muted rtc-Ellipsis"
            title={activity}
          >
            {activity}
          </span>
          <span className="rtc-Joined rtc-Muted">
            {trans.__('joined %1', formatTime(person.joined_at))}
          </span>
        </span>
      </button>
      {props.canRevoke && (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-warn rtc-Small rtc-RowRevoke"
          aria-label={trans.__('Revoke access for %1', name)}
          title={trans.__('Revoke access for %1', name)}
          onClick={props.onRevoke}
        >
          {trans.__('Revoke')}
        </button>
      )}
    </li>
  );
}

function CollaboratorsPanel(props: IPanelProps): JSX.Element {
  const { presence, cursors, trans } = props;
  useSignal(presence.changed);
  useSignal(props.meChanged);
  useSignal(cursors.changed);
  const now = useTick(30000);
  const me = props.me();
  const iAmOwner = me?.role === 'owner';
  const people = Array.from(presence.people.values()).sort((a, b) => {
    if ((a.role === 'owner') !== (b.role === 'owner')) {
      return a.role === 'owner' ? -1 : 1;
    }
    return a.joined_at < b.joined_at ? -1 : a.joined_at > b.joined_at ? 1 : 0;
  });
  return (
    <div className="rtc-Panel">
      <header className="rtc-PanelHeader">
        <h2>{trans.__('Collaborators')}</h2>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject rtc-Small"
          aria-label={trans.__('Open user sharing menu')}
          onClick={props.onOpenSharing}
        >
          {trans.__('User sharing…')}
        </button>
      </header>
      {presence.status === 'connecting' || presence.status === 'closed' ? (
        <p className="rtc-Muted rtc-PanelStatus" role="status">
          {presence.status === 'connecting'
            ? trans.__('Connecting…')
            : trans.__('Disconnected, reconnecting…')}
        </p>
      ) : null}
      {presence.status === 'revoked' ? (
        <p className="rtc-Error" role="alert">
          {trans.__('Your access to this server was revoked by its owner.')}
        </p>
      ) : null}
      <ul className="rtc-People rtc-Collaborators" aria-live="polite">
        {people.map(person => {
          const panel = person.current
            ? findNotebook(cursors.tracker, person.current)
            : null;
          const cellIndex =
            panel && person.username !== me?.username
              ? cursorCellIndex(panel, person.username)
              : null;
          return (
            <PersonRow
              key={person.username}
              person={person}
              isMe={person.username === me?.username}
              canRevoke={
                iAmOwner &&
                person.role !== 'owner' &&
                person.username !== me?.username
              }
              now={now}
              cellIndex={cellIndex}
              onOpen={() => props.onOpenPerson(person)}
              onRevoke={() => props.onRevoke(person)}
              trans={trans}
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
