/**
 * The activity timeline in this browser: `GET activity` once, then the
 * presence stream's entries live; the last execution of every cell.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { IRtcPresence } from '../tokens';
import { IActivityEvent } from './types';

/** Entries kept here, newest kept (the server keeps its own bound). */
const MAX_ENTRIES = 2000;

export class ActivityModel {
  constructor(private _rtc: IRtcPresence) {
    _rtc.presence.activity.connect((_, event) => this._add([event]));
    // After a reconnect the stream does not replay: fetch what was missed.
    _rtc.presence.ready.connect(() => void this.refresh());
  }

  /** Entries, oldest first. */
  get entries(): IActivityEvent[] {
    return Array.from(this._byId.values());
  }

  /** Whether the server refused us the timeline (owner's choice). */
  get hidden(): boolean {
    return this._hidden;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The last execution of cell `cellId` of notebook `path`, if known. */
  lastRun(path: string, cellId: string): IActivityEvent | null {
    return this._cells.get(cellKey(path, cellId)) ?? null;
  }

  async refresh(): Promise<void> {
    const since = this._last ? `?since=${encodeURIComponent(this._last)}` : '';
    try {
      const answer = await requestAPI<{ events: IActivityEvent[] }>(
        this._rtc.client.settings,
        `activity${since}`
      );
      this._hidden = false;
      this._add(answer.events);
    } catch {
      // 403: the owner keeps the timeline from guests; the stream sends none.
      this._hidden = true;
      this._changed.emit();
    }
  }

  private _add(events: IActivityEvent[]): void {
    for (const event of events) {
      this._byId.delete(event.id); // re-inserted: Map order = update order
      this._byId.set(event.id, event);
      if (!this._last || event.updated > this._last) {
        this._last = event.updated;
      }
      if (event.kind === 'execute' && event.path && event.cell_id) {
        this._cells.set(cellKey(event.path, event.cell_id), event);
      }
    }
    while (this._byId.size > MAX_ENTRIES) {
      const oldest = this._byId.keys().next().value as number;
      this._byId.delete(oldest);
    }
    this._changed.emit();
  }

  private _byId = new Map<number, IActivityEvent>();
  private _cells = new Map<string, IActivityEvent>();
  private _last: string | null = null;
  private _hidden = false;
  private _changed = new Signal<this, void>(this);
}

function cellKey(path: string, cellId: string): string {
  return `${path}\u0000${cellId}`;
}

/** The model of this page (set by the execution plugin), for the panel. */
let current: ActivityModel | null = null;

export function activityModel(): ActivityModel | null {
  return current;
}

export function setActivityModel(model: ActivityModel): void {
  current = model;
}
