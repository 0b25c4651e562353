/**
 * `rtc-presence:cursor-names`: keep the name label of remote cursors
 * visible (setting `showCursorNames` of `rtc-presence:plugin`).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { PluginIDs } from '../tokens';

/** Body class that keeps remote cursor names visible (style/base.css). */
const CURSOR_NAMES_CLASS = 'rtc-presence-show-cursor-names';

export const cursorNamesPlugin: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.cursorNames,
  description: 'Keeps the names of remote cursors visible.',
  autoStart: true,
  optional: [ISettingRegistry],
  activate: (
    _app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null
  ): void => {
    document.body.classList.add(CURSOR_NAMES_CLASS);
    if (!settingRegistry) {
      return;
    }
    settingRegistry
      .load(PluginIDs.core)
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
};
