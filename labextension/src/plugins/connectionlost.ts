/**
 * `rtc-presence:connection-lost`: what people see when the server goes away.
 *
 * Provides `IConnectionLost`. JupyterLab registers core plugins first and
 * federated extensions after them, and a later provider of a token replaces
 * an earlier one (@lumino/coreutils `PluginRegistry.registerPlugin`: "the
 * new service will override the old service"), so this one is used instead
 * of `@jupyterlab/hub-extension:connectionlost`, whose "Your server at
 * /user/alice/ is not running. Would you like to restart it?" sends a guest
 * to a server of their own. The owner keeps exactly that stock dialog
 * (reproduced below); a guest is told the server stopped and their access
 * ended. Disable this plugin by id to get the stock dialog for everyone.
 * Pinned by the "owner stops the server" UI test.
 */
import {
  ConnectionLost,
  IConnectionLost,
  JupyterFrontEnd,
  JupyterFrontEndPlugin,
  JupyterLab
} from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ServerConnection, ServiceManager } from '@jupyterlab/services';
import { ITranslator } from '@jupyterlab/translation';

import { IRtcPresence, PluginIDs } from '../tokens';

/** The hub's own restart command (@jupyterlab/hub-extension:plugin). */
const HUB_RESTART = 'hub:restart';

/** JupyterLab's hub behaviour, for the owner. */
function stockConnectionLost(
  app: JupyterFrontEnd,
  paths: JupyterFrontEnd.IPaths,
  translator: ITranslator,
  labInfo: JupyterLab.IInfo | null
): IConnectionLost {
  if (!paths.urls.hubPrefix) {
    return ConnectionLost;
  }
  const trans = translator.load('jupyterlab');
  let showing = false;
  return async () => {
    if (showing) {
      return;
    }
    showing = true;
    if (labInfo) {
      labInfo.isConnected = false;
    }
    const result = await showDialog({
      title: trans.__('Server unavailable or unreachable'),
      body: trans.__(
        'Your server at %1 is not running.\nWould you like to restart it?',
        paths.urls.base
      ),
      buttons: [
        Dialog.okButton({ label: trans.__('Restart') }),
        Dialog.cancelButton({ label: trans.__('Dismiss') })
      ]
    });
    if (labInfo) {
      labInfo.isConnected = true;
    }
    showing = false;
    if (result.button.accept) {
      await app.commands.execute(HUB_RESTART);
    }
  };
}

/** Shown to a guest at most once a minute while the server cannot be reached. */
const UNREACHABLE_EVERY = 60000;

export const connectionLostPlugin: JupyterFrontEndPlugin<IConnectionLost> = {
  id: PluginIDs.connectionLost,
  description:
    'Tells guests that the owner stopped the server, instead of offering a restart; the owner keeps the stock dialog.',
  autoStart: true,
  provides: IConnectionLost,
  requires: [JupyterFrontEnd.IPaths, ITranslator],
  optional: [IRtcPresence, JupyterLab.IInfo],
  activate: (
    app: JupyterFrontEnd,
    paths: JupyterFrontEnd.IPaths,
    translator: ITranslator,
    rtc: IRtcPresence | null,
    labInfo: JupyterLab.IInfo | null
  ): IConnectionLost => {
    const stock = stockConnectionLost(app, paths, translator, labInfo);
    let checking = false;
    let toldAt = 0;
    return async (
      manager: ServiceManager.IManager,
      err: ServerConnection.NetworkError,
      t?: ITranslator
    ): Promise<void> => {
      if (!rtc || rtc.role() !== 'guest') {
        return stock(manager, err, t);
      }
      if (rtc.ended || checking) {
        return;
      }
      checking = true;
      try {
        // Ends access (the notice) when the hub answers for the server.
        const outcome = await rtc.presence.probe();
        if (
          outcome === 'unreachable' &&
          Date.now() - toldAt > UNREACHABLE_EVERY
        ) {
          toldAt = Date.now();
          Notification.warning(
            rtc.trans.__(
              'The server of %1 cannot be reached right now; JupyterLab keeps trying.',
              rtc.ownerName()
            ),
            { autoClose: 8000 }
          );
        }
      } finally {
        checking = false;
      }
    };
  }
};
