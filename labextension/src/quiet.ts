/**
 * A tab whose access ended goes quiet: no polling, no reconnecting, no
 * "Leave site?" prompt. Before this, one revoked tab made ~20 requests per
 * second and thousands of console errors (issue 11).
 *
 * - `IConnectionStatus.isConnected = false`: JupyterLab's own switch that
 *   puts every periodic poll in standby (kernels, sessions, terminals,
 *   kernel specs, user, events, file browser, workspaces; see
 *   @jupyterlab/services-extension and filebrowser-extension:factory).
 * - The session, kernel, terminal and event managers are disposed, which
 *   closes their websockets without reconnecting.
 * - The collaborative documents' providers are disposed through the
 *   content provider registry ("rtc" is the id jupyter-collaboration's
 *   docprovider-extension registers, with a public `providers` map).
 * - Sockets and requests to this server that anyone opens later are
 *   refused locally (`socketgate.ts`, `requestgate.ts`). Autosave is left
 *   alone: turning it off here would write the setting to the owner's
 *   server for everyone.
 * - `beforeunload` listeners (the `dirty` safeguard of
 *   @jupyterlab/application-extension, the file browser's uploads) are
 *   stopped by a capturing listener: nothing can be saved any more, so
 *   the prompt could only keep the person on a dead page.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Contents, IConnectionStatus } from '@jupyterlab/services';

import { refuseRequests } from './requestgate';
import { refuseSockets } from './socketgate';

export interface IQuietOptions {
  app: JupyterFrontEnd;
  connectionStatus: IConnectionStatus | null;
}

interface IDisposableLike {
  dispose(): void;
}

let quiet = false;

/** Whether `goQuiet` ran in this page. */
export function isQuiet(): boolean {
  return quiet;
}

function disposeAll(items: Iterable<IDisposableLike | null | undefined>) {
  for (const item of items) {
    try {
      item?.dispose();
    } catch (error) {
      console.debug('rtc-presence: dispose failed', error);
    }
  }
}

/** The collaborative document providers open in this page. */
function documentProviders(app: JupyterFrontEnd): IDisposableLike[] {
  // `defaultDrive` is on ContentsManager, not on the Contents.IManager type.
  const contents = app.serviceManager.contents as {
    defaultDrive?: Contents.IDrive;
  };
  const registry = contents.defaultDrive?.contentProviderRegistry;
  const rtc = registry?.getProvider('rtc') as
    { providers?: Map<string, IDisposableLike> } | null | undefined;
  return rtc?.providers ? Array.from(rtc.providers.values()) : [];
}

function stopUnloadPrompts(event: Event): void {
  if (quiet) {
    event.stopImmediatePropagation();
  }
}

/**
 * Once quiet, `beforeunload` listeners added later are not added at all and
 * the `onbeforeunload` handler is cleared: the capturing listener alone was
 * seen, in a full UI run, not to stop one added after it.
 */
function refuseLaterUnloadPrompts(): void {
  const add = window.addEventListener.bind(window);
  window.addEventListener = ((
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions
  ) => {
    if (type === 'beforeunload') {
      return;
    }
    add(type, listener, options);
  }) as typeof window.addEventListener;
  window.onbeforeunload = null;
  // And whatever listener still runs cannot ask for the prompt.
  const proto = BeforeUnloadEvent.prototype as unknown as Record<
    string,
    unknown
  >;
  Object.defineProperty(proto, 'returnValue', {
    configurable: true,
    get: () => '',
    set: () => undefined
  });
  proto.preventDefault = () => undefined;
}

export function goQuiet(options: IQuietOptions): void {
  if (quiet) {
    return;
  }
  quiet = true;
  const { app } = options;
  const services = app.serviceManager;
  // Capturing, on window: runs before the listeners added without capture.
  window.addEventListener('beforeunload', stopUnloadPrompts, true);
  refuseLaterUnloadPrompts();
  refuseSockets(services.serverSettings.wsUrl);
  refuseRequests(services.serverSettings.baseUrl);
  if (options.connectionStatus) {
    options.connectionStatus.isConnected = false;
  }
  disposeAll(documentProviders(app));
  disposeAll([
    services.sessions,
    services.kernels,
    services.terminals,
    services.events
  ]);
}
