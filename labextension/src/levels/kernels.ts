/**
 * No kernel for a guest whose level excludes running code.
 *
 * JupyterLab starts or connects to a notebook's kernel as the document
 * opens (`SessionContext.initialize`), and shows "Error Starting Kernel"
 * with the server's raw answer when that fails. The server refuses
 * kernels to `view` and `edit` guests (403), so their documents' kernel
 * preference says `canStart: false, shouldReuse: false` before the context
 * initializes (a widget factory's `widgetCreated` comes first: @jupyterlab/
 * docmanager 4.6 `_createOrOpenDocument`). A downgrade disposes this page's
 * session connections (closing its kernel sockets; the kernel itself keeps
 * running for the owner); an upgrade to `run` connects to the document's
 * running kernel, or starts one as JupyterLab would have.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Session } from '@jupyterlab/services';

interface ITracked {
  /** The preference JupyterLab gave the document. */
  original: ISessionContext.IKernelPreference;
  blocked: boolean;
}

const BLOCKED: Partial<ISessionContext.IKernelPreference> = {
  canStart: false,
  shouldStart: false,
  shouldReuse: false,
  autoStartDefault: false
};

export class KernelGate {
  constructor(private _sessions: Session.IManager) {}

  /** Follow `context` from now on, at the current level. */
  track(context: ISessionContext, allowed: boolean): void {
    if (this._tracked.has(context)) {
      return;
    }
    this._tracked.set(context, {
      original: { ...context.kernelPreference },
      blocked: false
    });
    context.disposed.connect(() => this._tracked.delete(context));
    this._apply(context, allowed);
  }

  /** Apply a new level to every document. */
  apply(allowed: boolean): void {
    for (const context of this._tracked.keys()) {
      this._apply(context, allowed);
    }
  }

  private _apply(context: ISessionContext, allowed: boolean): void {
    const state = this._tracked.get(context);
    if (!state || context.isDisposed || state.blocked === !allowed) {
      return;
    }
    state.blocked = !allowed;
    if (!allowed) {
      context.kernelPreference = { ...state.original, ...BLOCKED };
      // Only this page's connection: the kernel keeps running.
      context.session?.dispose();
      return;
    }
    context.kernelPreference = state.original;
    void this._connect(context, state);
  }

  private async _connect(
    context: ISessionContext,
    state: ITracked
  ): Promise<void> {
    // Let a first initialization finish: it may connect by itself.
    await context.ready;
    if (context.isDisposed || state.blocked || context.session) {
      return;
    }
    try {
      await this._sessions.refreshRunning();
      let running: Session.IModel | undefined;
      for (const model of this._sessions.running()) {
        if (model.path === context.path && model.kernel) {
          running = model;
          break;
        }
      }
      if (running?.kernel) {
        await context.changeKernel({ id: running.kernel.id });
      } else if (state.original.shouldStart !== false) {
        await context.startKernel();
      }
    } catch (error) {
      console.warn('rtc-presence: could not connect the kernel', error);
    }
  }

  private _tracked = new Map<ISessionContext, ITracked>();
}
