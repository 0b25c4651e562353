/** One person with access: who, since when, their level (changeable), revoke. */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Access, IGuest, isAccess } from '../api';
import { Avatar, displayName, formatDateTime, Name } from '../common';
import { levelName } from '../levels/labels';
import { ConfirmButton } from './controls';
import { LevelSelect } from './levelselect';
import { SharedKernels } from './sharedkernels';

export function GuestRow(props: {
  guest: IGuest;
  busy: boolean;
  onLevel: (level: Access) => void;
  onRevoke: (restartKernels: boolean) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { guest: g, trans } = props;
  const name = displayName(g);
  const level = isAccess(g.access) ? g.access : undefined;
  const [restart, setRestart] = React.useState(false);
  return (
    <li
      className="rtc-Person"
      data-username={g.username}
      data-access={level ?? ''}
    >
      <Avatar person={g} />
      <div className="rtc-PersonText">
        <div className="rtc-Row rtc-Tight">
          <Name person={g} className="rtc-Strong" />
          {level && (
            <span className="rtc-LevelTag" data-access={level}>
              {levelName(level, trans)}
            </span>
          )}
          {g.online && (
            <span className="rtc-Online">{trans.__('online now')}</span>
          )}
        </div>
        <div className="rtc-Muted">
          <span className="rtc-Username" title={g.username}>
            {g.username}
          </span>
          {' · '}
          {trans.__('accepted %1', formatDateTime(g.accepted_at))}
          <SharedKernels
            kernels={g.ran_code_in ?? []}
            checked={restart}
            onChange={setRestart}
            trans={trans}
          />
          {g.access_expires_at && (
            <span className="rtc-AccessEnds">
              {' · '}
              {trans.__('access ends %1', formatDateTime(g.access_expires_at))}
            </span>
          )}
        </div>
      </div>
      <LevelSelect
        level={level}
        name={name}
        busy={props.busy}
        onChange={props.onLevel}
        trans={trans}
      />
      <ConfirmButton
        label={trans.__('Revoke')}
        ariaLabel={trans.__('Revoke access for %1', name)}
        confirmText={trans.__(
          'Revoke access for %1? They are disconnected at once.',
          name
        )}
        busy={props.busy}
        onConfirm={() => props.onRevoke(restart)}
        trans={trans}
      />
    </li>
  );
}
