/**
 * `rtc-presence:levels`: what a guest at `view` or `edit` sees. Their level
 * in a banner; for `view`, documents read-only; for both, no kernel is
 * started for them and every command that runs code (run buttons, the Run
 * and Kernel menus, Shift+Enter, consoles, terminals) says "Your access
 * (edit) does not include running code" instead of failing on the server.
 * After close code 4409 the core re-reads `GET info` and all of it follows
 * the new level live, without a reload. The owner is never affected.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { IDocumentWidget } from '@jupyterlab/docregistry';

import { Access } from '../api';
import { LevelBanner } from '../levels/banner';
import { guardCommands } from '../levels/commands';
import { KernelGate } from '../levels/kernels';
import { levelName, refusalText } from '../levels/labels';
import { excludedBy } from '../levels/policy';
import { followCells, setReadOnly } from '../levels/readonly';
import { explainTyping } from '../levels/typing';
import { watchDocuments } from '../levels/watch';
import { IRtcPresence, PluginIDs } from '../tokens';

/** How long a refusal toast shows, ms. */
const TOAST_MS = 5000;

export const levelsPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.levels,
  description:
    'Guests at view or edit: their level in a banner, read-only documents for view, run commands that explain themselves.',
  autoStart: true,
  requires: [IRtcPresence],
  activate: (app: JupyterFrontEnd, rtc: IRtcPresence): void => {
    const { trans } = rtc;
    const level = (): Access | null =>
      rtc.role() === 'owner' ? 'run' : rtc.access();
    const isViewer = () => level() === 'view';
    const canRun = () => level() === 'run';

    // One toast per refusal while it shows (Shift+Enter held down, typing);
    // the notification center keeps old ones, so go by time, not presence.
    let told = { message: '', at: 0 };
    const tell = (message: string) => {
      const now = Date.now();
      if (message === told.message && now - told.at < TOAST_MS) {
        return;
      }
      told = { message, at: now };
      Notification.warning(message, { autoClose: TOAST_MS });
    };

    const kernels = new KernelGate(app.serviceManager.sessions);
    const documents = new Set<IDocumentWidget>();
    watchDocuments(app.docRegistry, widget => {
      documents.add(widget);
      widget.disposed.connect(() => documents.delete(widget));
      followCells(widget, isViewer);
      setReadOnly(widget, isViewer());
      const session = widget.context.sessionContext;
      if (session.kernelPreference.canStart !== false) {
        kernels.track(session, canRun());
      }
    });

    guardCommands(
      app.commands,
      id => {
        const now = level();
        const excluded = excludedBy(now, id);
        if (!excluded) {
          return null;
        }
        return now
          ? refusalText(now, excluded, trans)
          : trans.__('Your access to this server is being checked…');
      },
      (_, message) => tell(message)
    );
    explainTyping(isViewer, () => tell(refusalText('view', 'change', trans)));

    app.shell.add(new LevelBanner(rtc, level), 'header', { rank: 10 });

    let applied = level();
    const apply = () => {
      const now = level();
      if (now === applied || rtc.ended) {
        return;
      }
      const before = applied;
      applied = now;
      for (const widget of documents) {
        setReadOnly(widget, now === 'view');
      }
      kernels.apply(now === 'run');
      app.commands.notifyCommandChanged();
      if (before && now) {
        Notification.info(
          trans.__(
            '%1 changed your access: you %2 now.',
            rtc.ownerName(),
            levelName(now, trans)
          ),
          { autoClose: 6000 }
        );
      }
    };
    rtc.meChanged.connect(apply);
    // Commands registered before the level was known get their captions now.
    void app.restored.then(() => app.commands.notifyCommandChanged());
  }
};
