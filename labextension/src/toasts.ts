/**
 * Join and leave notifications, grouped and rate-limited.
 *
 * Changes are collected for `windowMs` (2 s) after the first one, then told
 * in one toast per kind ("Bob Dupont joined", "3 people joined: ..."). What
 * is told is the difference between who we last announced and who is here
 * now, so a person who leaves and comes back inside the window (a reload, a
 * reconnection) is not announced at all, and each real arrival or departure
 * gives at most one toast.
 */
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IPerson } from './api';
import { displayName } from './common';
import { PresenceModel } from './presence';

export interface INotifierOptions {
  presence: PresenceModel;
  trans: TranslationBundle;
  /** My user name, as soon as it is known (never announced). */
  me: () => string | null;
  windowMs?: number;
  /** Where toasts go (tests and other front ends may replace it). */
  notify?: (message: string) => void;
}

/** "Bob Dupont", "Bob Dupont and Carol Nguyen", "3 people: A, B, C". */
export function groupLabel(
  names: string[],
  verb: 'joined' | 'left',
  trans: TranslationBundle
): string {
  if (names.length === 1) {
    return verb === 'joined'
      ? trans.__('%1 joined', names[0])
      : trans.__('%1 left', names[0]);
  }
  if (names.length === 2) {
    return verb === 'joined'
      ? trans.__('%1 and %2 joined', names[0], names[1])
      : trans.__('%1 and %2 left', names[0], names[1]);
  }
  const list = names.join(', ');
  return verb === 'joined'
    ? trans.__('%1 people joined: %2', names.length, list)
    : trans.__('%1 people left: %2', names.length, list);
}

export class JoinLeaveNotifier {
  constructor(options: INotifierOptions) {
    this._options = options;
    this._window = options.windowMs ?? 2000;
    const { presence } = options;
    presence.ready.connect(() => {
      // The first snapshot is who was already here: nothing to announce.
      this._announced = new Map(presence.people);
    });
    presence.joined.connect((_, person) => this._touch(person));
    presence.left.connect((_, person) => this._touch(person));
  }

  /** Announce what is pending now (used when the window ends). */
  flush(): void {
    window.clearTimeout(this._timer);
    this._timer = 0;
    const { presence, trans } = this._options;
    if (presence.status === 'revoked' || presence.status === 'ended') {
      this._touched.clear();
      return;
    }
    const me = this._options.me();
    const joined: string[] = [];
    const left: string[] = [];
    for (const [name, person] of this._touched) {
      const here = presence.people.get(name);
      const before = this._announced.get(name);
      if (here) {
        this._announced.set(name, here);
      } else {
        this._announced.delete(name);
      }
      if (name === me || !!here === !!before) {
        continue;
      }
      (here ? joined : left).push(displayName(here ?? person));
    }
    this._touched.clear();
    const notify =
      this._options.notify ??
      ((message: string) => Notification.info(message, { autoClose: 4000 }));
    if (joined.length) {
      notify(groupLabel(joined, 'joined', trans));
    }
    if (left.length) {
      notify(groupLabel(left, 'left', trans));
    }
  }

  private _touch(person: IPerson): void {
    this._touched.set(person.username, person);
    if (!this._timer) {
      this._timer = window.setTimeout(() => this.flush(), this._window);
    }
  }

  private _options: INotifierOptions;
  private _window: number;
  private _timer = 0;
  private _announced = new Map<string, IPerson>();
  private _touched = new Map<string, IPerson>();
}
