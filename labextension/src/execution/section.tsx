/**
 * The collaborators panel's Activity section: the timeline, newest first,
 * with a filter per person (the owner sees what guests did while away).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Avatar, displayName, formatDateTime, useSignal } from '../common';
import { describeEvent } from './describe';
import { activityModel } from './model';

/** Entries shown at most (the rest is one filter away). */
const SHOWN = 200;

export function ActivitySection(props: {
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  const model = activityModel();
  const [who, setWho] = React.useState('');
  useSignal(model ? model.changed : NEVER);
  if (!model || model.hidden) {
    return null;
  }
  const all = model.entries;
  const people = new Map(all.map(e => [e.username, displayName(e)]));
  const shown = all
    .filter(e => !who || e.username === who)
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.id - a.id))
    .slice(0, SHOWN);
  return (
    <section className="rtc-ActivitySection" aria-label={trans.__('Activity')}>
      <header className="rtc-Row rtc-ActivityHeader">
        <h3>{trans.__('Activity')}</h3>
        <select
          className="rtc-ActivityFilter"
          aria-label={trans.__('Show the activity of')}
          value={who}
          onChange={e => setWho(e.target.value)}
        >
          <option value="">{trans.__('Everyone')}</option>
          {Array.from(people).map(([username, name]) => (
            <option key={username} value={username}>
              {name}
            </option>
          ))}
        </select>
      </header>
      {shown.length === 0 ? (
        <p className="rtc-Muted">{trans.__('Nothing yet.')}</p>
      ) : (
        <ol className="rtc-ActivityList">
          {shown.map(e => (
            <li
              key={e.id}
              className="rtc-ActivityItem"
              data-kind={e.kind}
              data-username={e.username}
            >
              <Avatar person={e} size="small" />
              <span className="rtc-ActivityText">
                <span className="rtc-Strong">{displayName(e)}</span>{' '}
                <span className="rtc-Ellipsis">{describeEvent(e, trans)}</span>
              </span>
              <time className="rtc-Muted" dateTime={e.at}>
                {formatDateTime(e.at, true)}
              </time>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

// useSignal needs a signal even when the plugin is off.
const NEVER = {
  connect: () => false,
  disconnect: () => false
} as unknown as Parameters<typeof useSignal>[0];
