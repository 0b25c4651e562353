/** One active invite link: when it was made, what it gives, expiry, uses. */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IInvite, isAccess } from '../api';
import { formatDateTime, formatDuration } from '../common';
import { levelName } from '../levels/labels';
import { ConfirmButton, Countdown } from './controls';

/** "can view, 1 h 00 min each" / "can run code" / "—" (a hub-made link). */
export function linkAccess(invite: IInvite, trans: TranslationBundle): string {
  if (!isAccess(invite.access)) {
    return '—';
  }
  const name = levelName(invite.access, trans);
  return invite.access_for
    ? trans.__('%1, for %2', name, formatDuration(invite.access_for))
    : name;
}

export function LinkRow(props: {
  invite: IInvite;
  name: string;
  busy: boolean;
  onRevoke: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { invite, name, trans } = props;
  return (
    <tr data-invite-id={invite.id} data-access={invite.access ?? ''}>
      <td className="rtc-LinkName">{trans.__('Link created %1', name)}</td>
      <td className="rtc-LinkAccess">{linkAccess(invite, trans)}</td>
      <td>
        {formatDateTime(invite.expires_at)}{' '}
        <Countdown expiresAt={invite.expires_at} trans={trans} />
      </td>
      <td className="rtc-Uses">{invite.uses}</td>
      <td>{formatDateTime(invite.last_used)}</td>
      <td>
        <ConfirmButton
          label={trans.__('Revoke')}
          ariaLabel={trans.__('Revoke the link created %1', name)}
          confirmText={trans.__('Nobody can use this link any more.')}
          busy={props.busy}
          onConfirm={props.onRevoke}
          trans={trans}
        />
      </td>
    </tr>
  );
}
