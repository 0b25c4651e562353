/**
 * `rtc-presence:follow`: "Follow" on a person in the collaborators panel;
 * this view then tracks theirs until Stop, Escape or my own typing.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { IRtcPresence } from '../tokens';
import { FollowController, setFollowController } from './controller';

export const followPluginId = 'rtc-presence:follow';

export const followPlugin: JupyterFrontEndPlugin<void> = {
  id: followPluginId,
  description:
    "Follow mode: track a collaborator's notebook, cell and scroll continuously.",
  autoStart: true,
  requires: [IRtcPresence],
  activate: (app: JupyterFrontEnd, rtc: IRtcPresence): void => {
    const controller = new FollowController(app, rtc);
    setFollowController(controller);
    app.commands.addCommand('rtc-presence:follow', {
      label: args => rtc.trans.__('Follow %1', String(args.username ?? '')),
      execute: args => controller.follow(String(args.username ?? ''))
    });
    app.commands.addCommand('rtc-presence:stop-following', {
      label: rtc.trans.__('Stop following'),
      isEnabled: () => controller.target !== null,
      execute: () => controller.stop()
    });
  }
};
