/**
 * `rtc-presence:plugin`: the presence model, identity, join/leave toasts and
 * the "access ended" handling, provided to the other plugins as
 * `IRtcPresence`. Keeps the id of the settings schema (schema/plugin.json),
 * so saved settings stay where they were.
 */
import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IConnectionStatus } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { RtcPresenceCore } from '../core';
import { CursorWatcher } from '../cursors';
import { installRequestGate } from '../requestgate';
import { installSocketGate } from '../socketgate';
import { JoinLeaveNotifier } from '../toasts';
import { IRtcPresence, PluginIDs } from '../tokens';

// At module load, before any plugin activates: see socketgate.ts, requestgate.ts.
installSocketGate();
installRequestGate();

export const corePlugin: JupyterFrontEndPlugin<IRtcPresence> = {
  id: PluginIDs.core,
  description:
    'Presence, identity, join/leave notifications and the access-ended notice of rtc-presence.',
  autoStart: true,
  provides: IRtcPresence,
  optional: [ITranslator, INotebookTracker, IConnectionStatus],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    tracker: INotebookTracker | null,
    connectionStatus: IConnectionStatus | null
  ): IRtcPresence => {
    const trans = (translator ?? nullTranslator).load('rtc_presence');
    const core = new RtcPresenceCore({
      app,
      trans,
      cursors: new CursorWatcher(tracker),
      connectionStatus
    });
    // Crash recovery kept the collaborative version next to a file that
    // changed outside: say so once, with a way to open it. JupyterLab's toast
    // cuts a message at 140 characters, so the names come first, as base
    // names (the copy sits next to the file). The notice can arrive while
    // JupyterLab still starts: posted before the notification plugin is
    // listening, it would only reach the notification centre, never a toast.
    core.presence.recovered.connect(async (_, { path, copy }) => {
      await app.restored;
      Notification.warning(
        trans.__(
          'Your edits to %1 are in %2: the file changed while the server was down.',
          PathExt.basename(path),
          PathExt.basename(copy)
        ),
        {
          autoClose: false,
          actions: [
            {
              label: trans.__('Open the recovered copy'),
              callback: () =>
                void app.commands.execute('docmanager:open', { path: copy })
            }
          ]
        }
      );
    });
    new JoinLeaveNotifier({
      presence: core.presence,
      trans,
      me: () => core.me()?.username ?? null
    });
    return core;
  }
};
