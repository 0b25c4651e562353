/** One person in the collaborators panel. */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IPerson, isAccess } from './api';
import { Avatar, baseName, displayName, formatTime, Name } from './common';
import { levelName } from './levels/labels';
import { ConfirmButton } from './sharing';

export function PersonRow(props: {
  person: IPerson;
  isMe: boolean;
  canRevoke: boolean;
  activity: string;
  onOpen: () => void;
  onRevoke: () => void;
  trans: TranslationBundle;
  /** More on the row (running cell, Follow), from other plugins' folders. */
  extra?: React.ReactNode;
}): JSX.Element {
  const { person, trans } = props;
  const name = displayName(person);
  const role = person.role === 'owner' ? 'owner' : 'guest';
  // "Bob Dupont - can view": a guest's level (the owner always runs code).
  const level =
    role === 'guest' && isAccess(person.access) ? person.access : null;
  const openLabel = person.current
    ? trans.__('Open %1, where %2 is', person.current, name)
    : trans.__('%1 has no document open', name);
  return (
    <li
      className="rtc-Person rtc-CollaboratorRow"
      data-username={person.username}
      data-role={role}
      data-activity={person.activity ?? ''}
      data-access={level ?? ''}
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
            {level && (
              <span className="rtc-LevelTag" data-access={level}>
                {levelName(level, trans)}
              </span>
            )}
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
            title={props.activity}
          >
            {props.activity}
          </span>
          <span className="rtc-Joined rtc-Muted">
            {trans.__('joined %1', formatTime(person.joined_at))}
          </span>
        </span>
      </button>
      {props.extra}
      {props.canRevoke && (
        <ConfirmButton
          className="rtc-RowRevoke"
          label={trans.__('Revoke')}
          ariaLabel={trans.__('Revoke access for %1', name)}
          confirmText={trans.__(
            'Revoke access for %1? They are disconnected at once.',
            name
          )}
          onConfirm={props.onRevoke}
          trans={trans}
        />
      )}
    </li>
  );
}
