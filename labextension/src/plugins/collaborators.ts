/**
 * `rtc-presence:collaborators`: the collaborators side panel; clicking a
 * person opens their document at their cursor; the owner revokes from it.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { usersIcon } from '@jupyterlab/ui-components';

import { IPerson } from '../api';
import { displayName } from '../common';
import { scrollToCursor } from '../cursors';
import { CollaboratorsWidget, PANEL_ID } from '../panel';
import { errorMessage } from '../request';
import { CommandIDs, IRtcPresence, PluginIDs } from '../tokens';

/** How long to wait for a remote cursor after opening its document, ms. */
const CURSOR_WAIT = 5000;

export const collaboratorsPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.collaborators,
  description:
    'The collaborators side panel: who is here, on which document, doing what.',
  autoStart: true,
  requires: [IRtcPresence],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    rtc: IRtcPresence,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const { trans, cursors, client } = rtc;
    const openPerson = async (person: IPerson) => {
      const path = person.current;
      if (!path || rtc.ended) {
        return;
      }
      try {
        const widget = await app.commands.execute('docmanager:open', { path });
        if (!(widget instanceof NotebookPanel)) {
          return;
        }
        await widget.context.ready;
        await widget.revealed;
        if (!scrollToCursor(widget, person.username)) {
          // The remote awareness may arrive just after opening.
          const retry = () => {
            if (scrollToCursor(widget, person.username)) {
              cursors.changed.disconnect(retry);
            }
          };
          cursors.changed.connect(retry);
          window.setTimeout(
            () => cursors.changed.disconnect(retry),
            CURSOR_WAIT
          );
        }
      } catch (error) {
        Notification.error(
          trans.__('Could not open %1: %2', path, errorMessage(error)),
          { autoClose: 8000 }
        );
      }
    };
    const revokePerson = async (person: IPerson) => {
      const name = displayName(person);
      try {
        await client.revokeGuest(person.username);
        Notification.success(trans.__('Access revoked for %1', name), {
          autoClose: 4000
        });
      } catch (error) {
        Notification.error(
          trans.__('Could not revoke %1: %2', name, errorMessage(error)),
          { autoClose: false }
        );
      }
    };

    const panel = new CollaboratorsWidget({
      rtc,
      onOpenPerson: person => void openPerson(person),
      onRevoke: person => void revokePerson(person),
      onOpenSharing: () => {
        if (app.commands.hasCommand(CommandIDs.openSharing)) {
          void app.commands.execute(CommandIDs.openSharing);
        }
      }
    });
    panel.title.icon = usersIcon;
    panel.title.caption = trans.__('Collaborators');
    app.shell.add(panel, 'left', { rank: 300 });
    restorer?.add(panel, PANEL_ID);

    app.commands.addCommand(CommandIDs.showCollaborators, {
      label: trans.__('Show collaborators'),
      icon: usersIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
    palette?.addItem({
      command: CommandIDs.showCollaborators,
      category: trans.__('User sharing')
    });
  }
};
