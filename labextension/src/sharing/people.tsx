/** "People with access": who accepted a link, revoke one or everybody. */
import * as React from 'react';

import { Avatar, displayName, formatDateTime, Name } from '../common';
import { ConfirmButton } from './controls';
import { ISectionProps } from './links';

export function PeopleWithAccess(props: ISectionProps): JSX.Element {
  const { sharing, client, trans } = props;
  const { guests } = sharing;
  const busy = sharing.busy !== null;
  return (
    <section aria-labelledby="rtc-sharing-people">
      <h3 id="rtc-sharing-people">{trans.__('People with access')}</h3>
      {guests.length === 0 ? (
        <p className="rtc-Muted rtc-Empty">
          {sharing.loaded
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
                    <span className="rtc-Online">{trans.__('online now')}</span>
                  )}
                </div>
                <div className="rtc-Muted">
                  <span className="rtc-Username" title={g.username}>
                    {g.username}
                  </span>
                  {' · '}
                  {trans.__('accepted %1', formatDateTime(g.accepted_at))}
                </div>
              </div>
              <ConfirmButton
                label={trans.__('Revoke')}
                ariaLabel={trans.__('Revoke access for %1', displayName(g))}
                confirmText={trans.__(
                  'Revoke access for %1? They are disconnected at once.',
                  displayName(g)
                )}
                busy={busy}
                onConfirm={() =>
                  void sharing.run(
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
        disabled={guests.length === 0}
        busy={busy}
        onConfirm={() =>
          void sharing.run(
            'all-guests',
            () => client.revokeAllGuests(),
            trans.__('Access revoked for everybody')
          )
        }
        trans={trans}
      />
    </section>
  );
}
