/**
 * "People with access": who accepted a link, at which level (changeable),
 * revoke one or everybody.
 */
import * as React from 'react';

import { displayName } from '../common';
import { levelName } from '../levels/labels';
import { ConfirmButton } from './controls';
import { GuestRow } from './guestrow';
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
            <GuestRow
              key={g.username}
              guest={g}
              busy={busy}
              onLevel={level =>
                void sharing.run(
                  `level:${g.username}`,
                  () => client.changeGuest(g.username, { access: level }),
                  trans.__('%1 %2 now', displayName(g), levelName(level, trans))
                )
              }
              onRevoke={restartKernels =>
                void sharing.run(
                  `guest:${g.username}`,
                  () => client.revokeGuest(g.username, restartKernels),
                  trans.__('Access revoked for %1', displayName(g))
                )
              }
              trans={trans}
            />
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
