/**
 * `rtc-presence:execution`: who ran each cell (initials next to the
 * execution count, live) and the activity timeline behind the panel's
 * Activity section.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';

import { IRtcPresence } from '../tokens';
import { CellBadges } from './cellbadges';
import { ActivityModel, setActivityModel } from './model';

export const executionPluginId = 'rtc-presence:execution';

export const executionPlugin: JupyterFrontEndPlugin<void> = {
  id: executionPluginId,
  description:
    'Who ran each notebook cell, live, and the activity timeline of the server.',
  autoStart: true,
  requires: [IRtcPresence],
  optional: [INotebookTracker],
  activate: (
    _app: JupyterFrontEnd,
    rtc: IRtcPresence,
    tracker: INotebookTracker | null
  ): void => {
    const model = new ActivityModel(rtc);
    setActivityModel(model);
    void model.refresh();
    if (tracker) {
      new CellBadges(tracker, model, rtc.trans);
    }
  }
};
