/**
 * The top-right badge: whose server this is (for guests), my initials in my
 * color, then the initials of the others online now ("+k" past three).
 * Clicking opens the collaborators panel.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { IPerson } from './api';
import { Avatar, displayName, useSignal } from './common';
import { levelName } from './levels/labels';
import { IRtcPresence } from './tokens';

const MAX_SHOWN = 3;

export interface IBadgeProps {
  rtc: IRtcPresence;
  /** Open the collaborators panel, if it is there. */
  onOpen: (() => void) | null;
}

function Badge(props: IBadgeProps): JSX.Element | null {
  const { rtc } = props;
  const { presence, trans } = rtc;
  useSignal(presence.changed);
  useSignal(rtc.meChanged);
  const me = rtc.me();
  if (!me) {
    return null;
  }
  const others: IPerson[] = Array.from(presence.people.values())
    .filter(p => p.username !== me.username)
    .sort((a, b) => (a.joined_at < b.joined_at ? -1 : 1));
  const shown = others.slice(0, MAX_SHOWN);
  const hidden = others.length - shown.length;
  const isGuest = rtc.role() === 'guest';
  const serverOf = trans.__("%1's server", rtc.ownerName());
  const meLabel =
    me.role === 'owner'
      ? trans.__('You: %1 (owner)', displayName(me))
      : trans.__('You: %1', displayName(me));
  const level = rtc.access();
  const lines = isGuest ? [serverOf, meLabel] : [meLabel];
  if (isGuest && level) {
    lines.push(trans.__('Your access: %1', levelName(level, trans)));
  }
  lines.push(
    others.length
      ? trans.__('Online now: %1', others.map(p => displayName(p)).join(', '))
      : trans.__('Nobody else is online')
  );
  const title = lines.join('\n');
  const action = props.onOpen
    ? `. ${trans.__('Open the collaborators panel')}`
    : '';
  return (
    <>
      {isGuest && (
        <span className="rtc-ServerOf rtc-Ellipsis" title={serverOf}>
          {serverOf}
        </span>
      )}
      <button
        type="button"
        className="rtc-Badge"
        title={title}
        aria-label={`${title}${action}`}
        onClick={() => props.onOpen?.()}
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
    </>
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
