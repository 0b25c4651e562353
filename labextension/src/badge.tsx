/**
 * The top-right badge: my initials in my color, then the stacked initials of
 * the others online now ("+k" past three). Clicking opens the collaborators
 * panel.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { IIdentity, IPerson } from './api';
import { Avatar, displayName, useSignal } from './common';
import { PresenceModel } from './presence';

const MAX_SHOWN = 3;

export interface IBadgeProps {
  presence: PresenceModel;
  /** My identity, as soon as it is known. */
  me: () => IIdentity | null;
  meChanged: ISignal<unknown, void>;
  onOpen: () => void;
  trans: TranslationBundle;
}

function Badge(props: IBadgeProps): JSX.Element | null {
  const { presence, trans } = props;
  useSignal(presence.changed);
  useSignal(props.meChanged);
  const me = props.me();
  if (!me) {
    return null;
  }
  const others: IPerson[] = Array.from(presence.people.values())
    .filter(p => p.username !== me.username)
    .sort((a, b) => (a.joined_at < b.joined_at ? -1 : 1));
  const shown = others.slice(0, MAX_SHOWN);
  const hidden = others.length - shown.length;
  const meLabel =
    me.role === 'owner'
      ? trans.__('You: %1 (owner)', displayName(me))
      : trans.__('You: %1', displayName(me));
  const lines = [meLabel];
  if (others.length) {
    lines.push(
      trans.__('Online now: %1', others.map(p => displayName(p)).join(', '))
    );
  } else {
    lines.push(trans.__('Nobody else is online'));
  }
  const title = lines.join('\n');
  return (
    <button
      type="button"
      className="rtc-Badge"
      title={title}
      aria-label={`${title}. ${trans.__('Open the collaborators panel')}`}
      onClick={props.onOpen}
    >
      <span className="rtc-Badge-me" data-username={me.username}>
        <Avatar person={me} title={meLabel} />
      </span>
      {shown.length > 0 && (
        <span className="rtc-Badge-others">
          {shown.map(p => (
            <Avatar key={p.username} person={p} size="small" />
          ))}
          {hidden > 0 && (
            <span
              className="rtc-Avatar rtc-Avatar-small rtc-Avatar-more"
              title={others
                .slice(MAX_SHOWN)
                .map(p => displayName(p))
                .join(', ')}
            >
              {`+${hidden}`}
            </span>
          )}
        </span>
      )}
    </button>
  );
}

export class BadgeWidget extends ReactWidget {
  constructor(private _props: IBadgeProps) {
    super();
    this.id = 'rtc-presence-badge';
    this.addClass('rtc-BadgeWidget');
  }

  render(): JSX.Element {
    return <Badge {...this._props} />;
  }
}
