/** The owner's control to change a person's level (PATCH guests/{name}). */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Access, isAccess, LEVELS } from '../api';
import { levelName } from '../levels/labels';

export function LevelSelect(props: {
  /** Their level now, if the server said. */
  level: Access | undefined;
  /** "Bob Dupont", for the accessible name. */
  name: string;
  busy: boolean;
  onChange: (level: Access) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  return (
    <select
      className="rtc-LevelSelect"
      aria-label={trans.__('Access of %1', props.name)}
      title={trans.__('Change what %1 can do', props.name)}
      value={props.level ?? ''}
      aria-disabled={props.busy}
      onChange={e => {
        const value = e.target.value;
        if (!props.busy && isAccess(value) && value !== props.level) {
          props.onChange(value);
        }
      }}
    >
      {!props.level && <option value="">{trans.__('unknown')}</option>}
      {LEVELS.map(level => (
        <option key={level} value={level}>
          {levelName(level, trans)}
        </option>
      ))}
    </select>
  );
}
