/** "Invite links": make a link, the link just made, the active links. */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IInfo, RtcPresenceClient } from '../api';
import { formatDateTime } from '../common';
import { ConfirmButton, Countdown } from './controls';
import { defaultLifetime, lifetimeOptions, linkTimes } from './labels';
import { NewLinkBox } from './newlink';
import { ISharing } from './useSharing';

export interface ISectionProps {
  sharing: ISharing;
  client: RtcPresenceClient;
  trans: TranslationBundle;
}

export function InviteLinks(props: ISectionProps & { info: IInfo }) {
  const { sharing, client, info, trans } = props;
  const { invites, newLink } = sharing;
  const [lifetime, setLifetime] = React.useState(() => defaultLifetime(info));
  const lifetimeId = React.useId();
  const busy = sharing.busy !== null;
  const times = linkTimes(invites, newLink);
  const when = (id: string) => times.get(id) ?? '—';

  const generate = () =>
    sharing.run('generate', async () => {
      sharing.setNewLink(await client.createInvite(lifetime));
    });

  const revoke = (id: string) =>
    sharing.run(
      `invite:${id}`,
      async () => {
        await client.revokeInvite(id);
        if (newLink?.id === id) {
          sharing.setNewLink(null);
        }
      },
      trans.__('The link created %1 was revoked', when(id))
    );

  return (
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
          {lifetimeOptions(info).map(o => (
            <option key={o.seconds} value={o.seconds}>
              {trans.__(o.label)}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept rtc-Generate"
          aria-label={trans.__('Generate link')}
          aria-disabled={busy}
          onClick={() => void generate()}
        >
          {trans.__('Generate link')}
        </button>
      </div>
      {newLink && (
        <NewLinkBox
          invite={newLink}
          label={trans.__('Link created %1', when(newLink.id))}
          onStatus={sharing.setStatus}
          onError={sharing.setError}
          trans={trans}
        />
      )}
      <h4>{trans.__('Active links')}</h4>
      {invites.length === 0 ? (
        <p className="rtc-Muted rtc-Empty">
          {sharing.loaded ? trans.__('No active links.') : trans.__('Loading…')}
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
                <td className="rtc-LinkName">
                  {trans.__('Link created %1', when(inv.id))}
                </td>
                <td>
                  {formatDateTime(inv.expires_at)}{' '}
                  <Countdown expiresAt={inv.expires_at} trans={trans} />
                </td>
                <td className="rtc-Uses">{inv.uses}</td>
                <td>{formatDateTime(inv.last_used)}</td>
                <td>
                  <ConfirmButton
                    label={trans.__('Revoke')}
                    ariaLabel={trans.__(
                      'Revoke the link created %1',
                      when(inv.id)
                    )}
                    confirmText={trans.__('Nobody can use this link any more.')}
                    busy={busy}
                    onConfirm={() => void revoke(inv.id)}
                    trans={trans}
                  />
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
        disabled={invites.length === 0}
        busy={busy}
        onConfirm={() =>
          void sharing.run(
            'all-invites',
            async () => {
              await client.revokeAllInvites();
              sharing.setNewLink(null);
            },
            trans.__('All share links revoked')
          )
        }
        trans={trans}
      />
    </section>
  );
}
