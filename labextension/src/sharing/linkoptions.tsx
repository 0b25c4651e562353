/**
 * What a new link gives: its lifetime, the access level (one line each on
 * what it allows) and how long each person keeps that access.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { Access, IInfo } from '../api';
import { ACCESS_FOR, levelChoices } from '../levels/labels';
import { lifetimeOptions } from './labels';

export interface ILinkChoice {
  lifetime: number;
  access: Access;
  accessFor: number | null;
}

export function LinkOptions(props: {
  info: IInfo;
  choice: ILinkChoice;
  onChange: (choice: ILinkChoice) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { info, choice, trans } = props;
  const id = React.useId();
  const set = (change: Partial<ILinkChoice>) =>
    props.onChange({ ...choice, ...change });
  return (
    <div className="rtc-LinkOptions">
      <div className="rtc-Row">
        <label htmlFor={`${id}-lifetime`}>{trans.__('Valid for')}</label>
        <select
          id={`${id}-lifetime`}
          className="rtc-Lifetime"
          value={choice.lifetime}
          onChange={e => set({ lifetime: Number(e.target.value) })}
        >
          {lifetimeOptions(info).map(o => (
            <option key={o.seconds} value={o.seconds}>
              {trans.__(o.label)}
            </option>
          ))}
        </select>
      </div>
      <fieldset className="rtc-Levels">
        <legend>{trans.__('People who accept it')}</legend>
        {levelChoices(info, trans).map(level => (
          <label
            key={level.access}
            className="rtc-Level"
            data-access={level.access}
          >
            <input
              type="radio"
              name={`${id}-level`}
              value={level.access}
              checked={choice.access === level.access}
              onChange={() => set({ access: level.access })}
            />
            <span className="rtc-Strong">{level.name}</span>
            <span className="rtc-Muted rtc-LevelText">{level.description}</span>
          </label>
        ))}
      </fieldset>
      <div className="rtc-Row">
        <label htmlFor={`${id}-for`}>{trans.__('Access for')}</label>
        <select
          id={`${id}-for`}
          className="rtc-AccessFor"
          value={choice.accessFor ?? ''}
          onChange={e =>
            set({
              accessFor: e.target.value === '' ? null : Number(e.target.value)
            })
          }
        >
          {ACCESS_FOR.map(o => (
            <option key={o.label} value={o.seconds ?? ''}>
              {trans.__(o.label)}
            </option>
          ))}
        </select>
        <span className="rtc-Muted">{trans.__('from when they accept')}</span>
      </div>
    </div>
  );
}
