/**
 * `rtc-presence:sharing`: the "User sharing" menu, its command (also in the
 * command palette) and the sharing dialog.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { MenuSvg } from '@jupyterlab/ui-components';

import { openSharingDialog } from '../sharing';
import { CommandIDs, IRtcPresence, PluginIDs } from '../tokens';

export const sharingPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.sharing,
  description:
    'The "User sharing" menu, command and dialog: invite links and who has access.',
  autoStart: true,
  requires: [IRtcPresence],
  optional: [IMainMenu, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    rtc: IRtcPresence,
    mainMenu: IMainMenu | null,
    palette: ICommandPalette | null
  ): void => {
    const { trans } = rtc;
    const { commands } = app;
    const showCollaborators = () =>
      void commands.execute(CommandIDs.showCollaborators);
    commands.addCommand(CommandIDs.openSharing, {
      label: trans.__('Open user sharing menu'),
      caption: trans.__('Invite people to this server and manage their access'),
      isEnabled: () => !rtc.ended,
      execute: () =>
        openSharingDialog({
          client: rtc.client,
          presence: rtc.presence,
          trans,
          info: rtc.info,
          onShowCollaborators: commands.hasCommand(CommandIDs.showCollaborators)
            ? showCollaborators
            : null
        })
    });
    const category = trans.__('User sharing');
    palette?.addItem({ command: CommandIDs.openSharing, category });
    if (mainMenu) {
      const menu = new MenuSvg({ commands });
      menu.id = 'rtc-presence-menu';
      menu.title.label = trans.__('User sharing');
      menu.addItem({ command: CommandIDs.openSharing });
      mainMenu.addMenu(menu, true, { rank: 1100 });
      // The panel is another plugin (it may be disabled): list its command
      // once every plugin had the chance to add its commands.
      void app.restored.then(() => {
        if (commands.hasCommand(CommandIDs.showCollaborators)) {
          menu.addItem({ command: CommandIDs.showCollaborators });
        }
      });
    }
  }
};
