/**
 * The shared state behind `IRtcPresence`: the API client, the presence
 * model, who I am, and what happens when this tab's access ends.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { Access, IIdentity, IInfo, isAccess, RtcPresenceClient } from './api';
import { CursorWatcher } from './cursors';
import { EndReason, showAccessEnded } from './ended';
import { PresenceModel } from './presence';
import { goQuiet, IQuietOptions } from './quiet';
import { errorMessage } from './request';
import { IRtcPresence, Role } from './tokens';

export interface IRtcCoreOptions extends IQuietOptions {
  app: JupyterFrontEnd;
  cursors: CursorWatcher;
  trans: TranslationBundle;
}

export class RtcPresenceCore implements IRtcPresence {
  constructor(options: IRtcCoreOptions) {
    this._options = options;
    this._app = options.app;
    this.trans = options.trans;
    this.cursors = options.cursors;
    this.client = new RtcPresenceClient(
      this._app.serviceManager.serverSettings
    );
    this.presence = new PresenceModel(this.client);

    this._app.serviceManager.user.userChanged.connect(() =>
      this._meChanged.emit()
    );
    // 4403 on the stream, or a 403 from the API: only guests are revoked.
    this.presence.revoked.connect(() => {
      if (this.role() !== 'owner') {
        this.endAccess(this.presence.expired ? 'expired' : 'revoked');
      }
    });
    // The hub answered for the server: it stopped. The owner keeps
    // JupyterLab's own "restart?" behaviour (connection-lost plugin).
    this.presence.serverGone.connect(() => {
      if (this.role() === 'guest') {
        this.endAccess('stopped');
      }
    });
    // 4409 on the stream: our level changed; the row the stream sends about
    // us says so too (whichever comes first).
    this.presence.levelChanged.connect(() => void this.refreshInfo());
    this.presence.changed.connect(() => {
      const mine = this.presence.people.get(this.me()?.username ?? '');
      if (
        this._info &&
        isAccess(mine?.access) &&
        mine.access !== this.access()
      ) {
        void this.refreshInfo();
      }
    });
    void this.refreshInfo();
    this.presence.start();
  }

  readonly client: RtcPresenceClient;
  readonly presence: PresenceModel;
  readonly cursors: CursorWatcher;
  readonly trans: TranslationBundle;

  get info(): IInfo | null {
    return this._info;
  }

  get meChanged(): ISignal<this, void> {
    return this._meChanged;
  }

  get ended(): EndReason | null {
    return this._ended;
  }

  get endedChanged(): ISignal<this, EndReason> {
    return this._endedChanged;
  }

  me(): IIdentity | null {
    if (this._info) {
      return this._info.me;
    }
    const identity = this._app.serviceManager.user.identity as
      (IIdentity & Record<string, unknown>) | null;
    return identity ?? null;
  }

  access(): Access | null {
    const level = this.me()?.access;
    if (isAccess(level)) {
      return level;
    }
    return this.role() === 'owner' ? 'run' : null;
  }

  async refreshInfo(): Promise<void> {
    if (this._fetching) {
      // One more answer after the one in flight (it may predate a change).
      this._again = true;
      return this._fetching;
    }
    this._fetching = (async () => {
      do {
        this._again = false;
        try {
          const value = await this.client.info();
          if (!this._ended) {
            this._info = value;
            this._meChanged.emit();
          }
        } catch (error) {
          console.warn(`rtc-presence: ${errorMessage(error)}`);
        }
      } while (this._again);
    })();
    try {
      await this._fetching;
    } finally {
      this._fetching = null;
    }
  }

  role(): Role | null {
    const me = this.me();
    if (me?.role === 'owner' || me?.role === 'guest') {
      return me.role;
    }
    // Before /api/rtc-presence/info answered: jupyterhub's page_config
    // names the visitor (`hubUser`) and the server's owner (`hubServerUser`).
    const owner = PageConfig.getOption('hubServerUser');
    const visitor = me?.username || PageConfig.getOption('hubUser');
    if (visitor && owner) {
      return visitor === owner ? 'owner' : 'guest';
    }
    return null;
  }

  ownerName(): string {
    const info = this._info;
    return (
      info?.owner_display_name ||
      info?.owner.display_name ||
      info?.owner.username ||
      PageConfig.getOption('hubServerUser') ||
      this.trans.__('the owner')
    );
  }

  endAccess(reason: EndReason): void {
    if (this._ended) {
      return;
    }
    this._ended = reason;
    this.presence.stop(reason === 'stopped' ? 'ended' : 'revoked');
    showAccessEnded(reason, this.ownerName(), this.trans);
    goQuiet(this._options);
    this._endedChanged.emit(reason);
  }

  private _options: IRtcCoreOptions;
  private _app: JupyterFrontEnd;
  private _info: IInfo | null = null;
  private _fetching: Promise<void> | null = null;
  private _again = false;
  private _ended: EndReason | null = null;
  private _meChanged = new Signal<this, void>(this);
  private _endedChanged = new Signal<this, EndReason>(this);
}
