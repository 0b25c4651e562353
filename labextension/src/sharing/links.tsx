/** "Invite links": make a link, the link just made, the active links. */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IInfo, RtcPresenceClient } from '../api';
import { DEFAULT_LEVEL } from '../levels/labels';
import { ConfirmButton } from './controls';
import { defaultLifetime, linkTimes } from './labels';
import { ILinkChoice, LinkOptions } from './linkoptions';
import { linkAccess, LinkRow } from './linkrow';
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
  const [choice, setChoice] = React.useState<ILinkChoice>(() => ({
    lifetime: defaultLifetime(info),
    access: DEFAULT_LEVEL,
    accessFor: null
  }));
  const busy = sharing.busy !== null;
  const times = linkTimes(invites, newLink);
  const when = (id: string) => times.get(id) ?? '—';

  const generate = () =>
    sharing.run('generate', async () => {
      sharing.setNewLink(
        await client.createInvite(choice.lifetime, {
          access: choice.access,
          access_for: choice.accessFor
        })
      );
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
      <LinkOptions
        info={info}
        choice={choice}
        onChange={setChoice}
        trans={trans}
      />
      <div className="rtc-Row rtc-Row-end">
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
          gives={linkAccess(newLink, trans)}
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
              <th scope="col">{trans.__('Gives')}</th>
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
              <LinkRow
                key={inv.id}
                invite={inv}
                name={when(inv.id)}
                busy={busy}
                onRevoke={() => void revoke(inv.id)}
                trans={trans}
              />
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
