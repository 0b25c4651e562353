/**
 * `rtc-presence:badge`: my initials and the others online, in the top bar
 * (toolbar item `rtc-presence-badge` of `jupyter.lab.toolbars.TopBar`), and
 * "Alice Martin's server" for guests.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IToolbarWidgetRegistry } from '@jupyterlab/apputils';

import { BadgeWidget } from '../badge';
import { CommandIDs, IRtcPresence, PluginIDs } from '../tokens';

export const badgePlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.badge,
  description:
    'The top-bar badge: your initials, who else is online, whose server this is.',
  autoStart: true,
  requires: [IRtcPresence],
  optional: [IToolbarWidgetRegistry],
  activate: (
    app: JupyterFrontEnd,
    rtc: IRtcPresence,
    toolbarRegistry: IToolbarWidgetRegistry | null
  ): void => {
    const onOpen = () => {
      if (app.commands.hasCommand(CommandIDs.showCollaborators)) {
        void app.commands.execute(CommandIDs.showCollaborators);
      }
    };
    const makeBadge = () => new BadgeWidget({ rtc, onOpen });
    if (toolbarRegistry) {
      // Placed by `jupyter.lab.toolbars.TopBar` in schema/plugin.json.
      toolbarRegistry.addFactory('TopBar', 'rtc-presence-badge', makeBadge);
    } else {
      app.shell.add(makeBadge(), 'top', { rank: 1000 });
    }
  }
};
