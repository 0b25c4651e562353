/**
 * "People revoked": who was revoked, whether they tried to come back
 * (live, contract item 1), and "Allow again".
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IInvite, IRevokedGuest } from '../api';
import {
  Avatar,
  displayName,
  formatDateTime,
  Name,
  parseTime,
  useTick
} from '../common';
import { ISectionProps } from './links';

function Attempts(props: {
  person: IRevokedGuest;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { person, trans } = props;
  const attempts = person.attempts ?? 0;
  if (attempts <= 0) {
    return null;
  }
  return (
    <div className="rtc-Attempts">
      {trans._n(
        'Tried to come back once, at %2',
        'Tried to come back %1 times, last at %2',
        attempts,
        formatDateTime(person.last_attempt_at)
      )}
    </div>
  );
}

/** What "Allow again" gives back, given the links that still work. */
function allowHint(
  invites: IInvite[],
  now: number,
  trans: TranslationBundle
): string {
  const active = invites.filter(
    i => (parseTime(i.expires_at)?.getTime() ?? 0) > now
  ).length;
  return active > 0
    ? trans._n(
        'After "Allow again", they can come back with the active link below or a new one.',
        'After "Allow again", they can come back with any of the %1 active links or a new one.',
        active
      )
    : trans.__(
        'After "Allow again", they need a new invite link to come back: no link is active.'
      );
}

export function RevokedPeople(props: ISectionProps): JSX.Element | null {
  const { sharing, client, trans } = props;
  const now = useTick(30000);
  if (sharing.revoked.length === 0) {
    return null;
  }
  return (
    <section aria-labelledby="rtc-sharing-revoked">
      <h3 id="rtc-sharing-revoked">{trans.__('People revoked')}</h3>
      <ul className="rtc-People rtc-Revoked">
        {sharing.revoked.map(r => (
          <li
            key={r.username}
            className="rtc-Person"
            data-username={r.username}
            data-attempts={r.attempts ?? 0}
          >
            <Avatar person={r} />
            <div className="rtc-PersonText">
              <Name person={r} className="rtc-Strong" />
              <div className="rtc-Muted">
                <span className="rtc-Username" title={r.username}>
                  {r.username}
                </span>
                {' · '}
                {trans.__('revoked %1', formatDateTime(r.revoked_at))}
              </div>
              <Attempts person={r} trans={trans} />
            </div>
            <button
              type="button"
              className="jp-Button jp-mod-styled jp-mod-reject rtc-Small rtc-Allow"
              aria-label={trans.__('Allow %1 again', displayName(r))}
              aria-disabled={sharing.busy !== null}
              onClick={() =>
                void sharing.run(
                  `allow:${r.username}`,
                  () => client.allowGuest(r.username),
                  trans.__(
                    '%1 may come back with an invite link',
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
      <p className="rtc-Muted rtc-AllowHint">
        {allowHint(sharing.invites, now, trans)}
      </p>
    </section>
  );
}
