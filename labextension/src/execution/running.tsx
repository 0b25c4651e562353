/** "running cell 3 of analysis.ipynb" on a collaborators panel row. */
import { TranslationBundle } from '@jupyterlab/translation';
import { INotebookTracker } from '@jupyterlab/notebook';
import * as React from 'react';

import { IPerson } from '../api';
import { describeRunning } from './describe';

export function RunningLine(props: {
  person: IPerson;
  tracker: INotebookTracker | null;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { running } = props.person;
  if (!running) {
    return null;
  }
  let cellNumber: number | null = null;
  const panel =
    running.path && props.tracker
      ? props.tracker.find(p => p.context.localPath === running.path)
      : undefined;
  if (panel && running.cell_id) {
    const index = panel.content.widgets.findIndex(
      cell => cell.model.id === running.cell_id
    );
    cellNumber = index >= 0 ? index + 1 : null;
  }
  const text = describeRunning(running, cellNumber, props.trans);
  return (
    <span className="rtc-Running rtc-Ellipsis" title={text}>
      {text}
    </span>
  );
}
