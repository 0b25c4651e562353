/**
 * rtc-presence JupyterLab plugin: the "User sharing" menu and dialog, the
 * top-right presence badge, the collaborators side panel, join/leave
 * notifications, named remote cursors and the "access revoked" notice.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  IToolbarWidgetRegistry,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { MenuSvg, usersIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';

import {
  errorMessage,
  IIdentity,
  IInfo,
  IPerson,
  RtcPresenceClient
} from './api';
import { BadgeWidget } from './badge';
import { displayName } from './common';
import { CursorWatcher, scrollToCursor } from './cursors';
import { CollaboratorsWidget, PANEL_ID } from './panel';
import { PresenceModel } from './presence';
import { showRevokedNotice } from './revoked';
import { openSharingDialog } from './sharing';

const PLUGIN_ID = 'rtc-presence:plugin';

export namespace CommandIDs {
  export const openSharing = 'rtc-presence:open-sharing';
  export const showCollaborators = 'rtc-presence:show-collaborators';
}

/** Body class that keeps remote cursor names visible. */
const CURSOR_NAMES_CLASS = 'rtc-presence-show-cursor-names';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'User sharing menu, presence badge and collaborators panel for shared servers.',
  autoStart: true,
  optional: [
    IMainMenu,
    ICommandPalette,
    ITranslator,
    ISettingRegistry,
    IToolbarWidgetRegistry,
    INotebookTracker,
    ILayoutRestorer
  ],
  activate: (
    app: JupyterFrontEnd,
    mainMenu: IMainMenu | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    toolbarRegistry: IToolbarWidgetRegistry | null,
    tracker: INotebookTracker | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('rtc_presence');
    const client = new RtcPresenceClient(app.serviceManager.serverSettings);
    const presence = new PresenceModel(client);
    const cursors = new CursorWatcher(tracker);

    // --- who am I -------------------------------------------------------
    let info: IInfo | null = null;
    const meChanged = new Signal<unknown, void>(plugin);
    const me = (): IIdentity | null => {
      if (info) {
        return info.me;
      }
      const identity = app.serviceManager.user.identity as
        (IIdentity & Record<string, unknown>) | null;
      return identity ?? null;
    };
    app.serviceManager.user.userChanged.connect(() => meChanged.emit());
    client
      .info()
      .then(value => {
        info = value;
        meChanged.emit();
      })
      .catch(error => {
        console.warn(`rtc-presence: ${errorMessage(error)}`);
      });

    // --- presence: notifications and revocation ---------------------------
    presence.joined.connect((_, person) => {
      if (person.username !== me()?.username) {
        Notification.info(trans.__('%1 joined', displayName(person)), {
          autoClose: 4000
        });
      }
    });
    presence.left.connect((_, person) => {
      if (person.username !== me()?.username) {
        Notification.info(trans.__('%1 left', displayName(person)), {
          autoClose: 4000
        });
      }
    });
    presence.revoked.connect(() => {
      showRevokedNotice(trans);
    });
    presence.start();

    // --- commands -------------------------------------------------------
    const openSharing = () =>
      openSharingDialog({ client, presence, trans, info });

    app.commands.addCommand(CommandIDs.openSharing, {
      label: trans.__('Open user sharing menu'),
      caption: trans.__('Invite people to this server and manage their access'),
      execute: () => openSharing()
    });
    app.commands.addCommand(CommandIDs.showCollaborators, {
      label: trans.__('Show collaborators'),
      icon: usersIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });

    if (palette) {
      const category = trans.__('User sharing');
      palette.addItem({ command: CommandIDs.openSharing, category });
      palette.addItem({ command: CommandIDs.showCollaborators, category });
    }

    if (mainMenu) {
      const menu = new MenuSvg({ commands: app.commands });
      menu.id = 'rtc-presence-menu';
      menu.title.label = trans.__('User sharing');
      menu.addItem({ command: CommandIDs.openSharing });
      menu.addItem({ command: CommandIDs.showCollaborators });
      mainMenu.addMenu(menu, true, { rank: 1100 });
    }

    // --- side panel -----------------------------------------------------
    const openPerson = async (person: IPerson) => {
      const path = person.current;
      if (!path) {
        return;
      }
      try {
        const widget = await app.commands.execute('docmanager:open', { path });
        if (widget instanceof NotebookPanel) {
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
            window.setTimeout(() => cursors.changed.disconnect(retry), 5000);
          }
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
      const result = await showDialog({
        title: trans.__('Revoke access'),
        body: trans.__(
          'Revoke access for %1 (%2)? They are disconnected at once and need a new invite link to come back.',
          name,
          person.username
        ),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({
            label: trans.__('Revoke'),
            ariaLabel: trans.__('Revoke access for %1', name)
          })
        ]
      });
      if (!result.button.accept) {
        return;
      }
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
      presence,
      cursors,
      me,
      meChanged,
      onOpenPerson: person => void openPerson(person),
      onRevoke: person => void revokePerson(person),
      onOpenSharing: () => void openSharing(),
      trans
    });
    panel.title.icon = usersIcon;
    panel.title.caption = trans.__('Collaborators');
    app.shell.add(panel, 'left', { rank: 300 });
    if (restorer) {
      restorer.add(panel, PANEL_ID);
    }

    // --- top-bar badge --------------------------------------------------
    const makeBadge = () =>
      new BadgeWidget({
        presence,
        me,
        meChanged,
        onOpen: () => app.shell.activateById(PANEL_ID),
        trans
      });
    if (toolbarRegistry) {
      // Placed by `jupyter.lab.toolbars.TopBar` in schema/plugin.json.
      toolbarRegistry.addFactory('TopBar', 'rtc-presence-badge', makeBadge);
    } else {
      app.shell.add(makeBadge(), 'top', { rank: 1000 });
    }

    // --- remote cursor names ---------------------------------------------
    document.body.classList.add(CURSOR_NAMES_CLASS);
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            const show = settings.get('showCursorNames').composite !== false;
            document.body.classList.toggle(CURSOR_NAMES_CLASS, show);
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(error => {
          console.warn('rtc-presence: could not load settings', error);
        });
    }
  }
};

export default plugin;
