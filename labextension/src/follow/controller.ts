/**
 * Follow mode: this view tracks another person's continuously - their
 * document (global awareness `current`, as the presence rows say it) and,
 * in a notebook, the cell of their cursor (the notebook's awareness
 * `cursors`, resolved by `cursors.ts`), scrolled into view. Across
 * notebooks: when they open another one, it opens here.
 *
 * Stops on the bar's Stop, on Escape, when I start typing myself, or when
 * they have been gone for `GONE_MS` (a reload of their page is not leaving).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { displayName } from '../common';
import { scrollToCursor } from '../cursors';
import { IRtcPresence } from '../tokens';
import { FollowBar } from './bar';

/** How long the followed person may be absent before following ends, ms. */
const GONE_MS = 15000;

/** Keys that change nothing: pressing them does not end following. */
const NAVIGATION = new Set([
  'Shift',
  'Control',
  'Alt',
  'Meta',
  'CapsLock',
  'Tab',
  'PageUp',
  'PageDown',
  'Home',
  'End',
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight'
]);

export class FollowController {
  constructor(
    private _app: JupyterFrontEnd,
    private _rtc: IRtcPresence
  ) {
    this._bar = new FollowBar(_rtc.trans, () => this.stop());
  }

  /** Whom this view follows, or null. */
  get target(): string | null {
    return this._target;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  follow(username: string): void {
    if (this._target === username) {
      return;
    }
    this.stop();
    const person = this._rtc.presence.people.get(username);
    if (!person) {
      return;
    }
    this._target = username;
    this._opened = null;
    this._bar.show(displayName(person));
    this._rtc.presence.changed.connect(this._sync, this);
    this._rtc.cursors.changed.connect(this._sync, this);
    document.addEventListener('keydown', this._onKey, true);
    this._changed.emit();
    this._sync();
  }

  stop(): void {
    if (this._target === null) {
      return;
    }
    this._target = null;
    window.clearTimeout(this._goneTimer);
    this._goneTimer = 0;
    this._bar.hide();
    this._rtc.presence.changed.disconnect(this._sync, this);
    this._rtc.cursors.changed.disconnect(this._sync, this);
    document.removeEventListener('keydown', this._onKey, true);
    this._changed.emit();
  }

  private _onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') {
      this.stop();
      return;
    }
    const target = event.target as HTMLElement | null;
    const typing =
      !NAVIGATION.has(event.key) &&
      !event.ctrlKey &&
      !event.metaKey &&
      !!target?.closest('.cm-editor, .jp-Notebook, input, textarea');
    if (typing) {
      this.stop(); // I am editing myself now
    }
  };

  private _sync(): void {
    const username = this._target;
    if (username === null) {
      return;
    }
    const person = this._rtc.presence.people.get(username);
    if (!person) {
      if (!this._goneTimer) {
        this._goneTimer = window.setTimeout(() => {
          this._goneTimer = 0;
          if (!this._rtc.presence.people.has(username)) {
            this.stop(); // they left
          }
        }, GONE_MS);
      }
      return;
    }
    const path = person.current;
    if (!path) {
      return;
    }
    if (path !== this._opened) {
      this._opened = path;
      void this._open(path, username);
      return;
    }
    const widget = this._app.shell.currentWidget;
    if (widget instanceof NotebookPanel && widget.context.localPath === path) {
      scrollToCursor(widget, username);
    }
  }

  private async _open(path: string, username: string): Promise<void> {
    const widget = await this._app.commands.execute('docmanager:open', {
      path
    });
    if (widget instanceof NotebookPanel && this._target === username) {
      await widget.context.ready;
      await widget.revealed;
      scrollToCursor(widget, username);
    }
  }

  private _target: string | null = null;
  private _opened: string | null = null;
  private _goneTimer = 0;
  private _bar: FollowBar;
  private _changed = new Signal<this, void>(this);
}

/** The controller of this page (set by the follow plugin), for the panel. */
let current: FollowController | null = null;

export function followController(): FollowController | null {
  return current;
}

export function setFollowController(controller: FollowController): void {
  current = controller;
}
