/**
 * Where is a person's cursor in a notebook open in this browser?
 *
 * jupyter-collaboration publishes each client's CodeMirror selections in the
 * document's awareness as `cursors: [{anchor, head, primary, empty}]`, where
 * `head` is a Yjs relative position inside one cell's source text. Resolving
 * it against the local Y.Doc tells us the cell.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';
import * as Y from 'yjs';

interface IAwarenessLike {
  clientID: number;
  getStates(): Map<number, Record<string, unknown>>;
  on(event: 'change', cb: () => void): void;
  off(event: 'change', cb: () => void): void;
}

interface ISharedNotebookLike {
  awareness?: IAwarenessLike;
  ydoc?: Y.Doc;
  cells?: ReadonlyArray<{ ysource?: unknown }>;
}

interface ICursor {
  head?: unknown;
  primary?: boolean;
}

function sharedOf(panel: NotebookPanel): ISharedNotebookLike | null {
  const shared = panel.model?.sharedModel as unknown as
    ISharedNotebookLike | undefined;
  return shared ?? null;
}

/** The notebook panel open here for `path`, if any. */
export function findNotebook(
  tracker: INotebookTracker | null,
  path: string
): NotebookPanel | null {
  if (!tracker) {
    return null;
  }
  return tracker.find(panel => panel.context.path === path) ?? null;
}

/** Index of the cell holding `username`'s cursor in `panel`, or null. */
export function cursorCellIndex(
  panel: NotebookPanel,
  username: string
): number | null {
  const shared = sharedOf(panel);
  const awareness = shared?.awareness;
  const ydoc = shared?.ydoc;
  const cells = shared?.cells;
  if (!awareness || !ydoc || !cells) {
    return null;
  }
  for (const [clientId, state] of awareness.getStates()) {
    if (clientId === awareness.clientID) {
      continue;
    }
    const user = state.user as { username?: string } | undefined;
    if (!user || user.username !== username) {
      continue;
    }
    const cursors = (state.cursors as ICursor[] | undefined) ?? [];
    const cursor = cursors.find(c => c.primary ?? true) ?? cursors[0];
    if (!cursor || !cursor.head) {
      continue;
    }
    try {
      const relative = Y.createRelativePositionFromJSON(cursor.head);
      const absolute = Y.createAbsolutePositionFromRelativePosition(
        relative,
        ydoc
      );
      if (!absolute) {
        continue;
      }
      const index = cells.findIndex(cell => cell.ysource === absolute.type);
      if (index >= 0) {
        return index;
      }
    } catch {
      continue;
    }
  }
  return null;
}

/** Scroll `panel` to `username`'s cursor cell; true if found. */
export function scrollToCursor(
  panel: NotebookPanel,
  username: string
): boolean {
  const index = cursorCellIndex(panel, username);
  if (index === null) {
    return false;
  }
  const notebook = panel.content;
  notebook.activeCellIndex = index;
  void notebook.scrollToItem(index, 'center');
  return true;
}

/**
 * Emits `changed` (throttled) when the awareness of any open notebook changes,
 * so that "editing cell N" stays current.
 */
export class CursorWatcher {
  constructor(tracker: INotebookTracker | null) {
    this._tracker = tracker;
    if (!tracker) {
      return;
    }
    tracker.forEach(panel => this._watch(panel));
    tracker.widgetAdded.connect((_, panel) => this._watch(panel));
  }

  get tracker(): INotebookTracker | null {
    return this._tracker;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private _watch(panel: NotebookPanel): void {
    const attach = () => {
      const awareness = sharedOf(panel)?.awareness;
      if (!awareness) {
        return;
      }
      const onChange = () => this._schedule();
      awareness.on('change', onChange);
      panel.disposed.connect(() => {
        awareness.off('change', onChange);
        this._schedule();
      });
    };
    void panel.context.ready.then(attach).catch(() => undefined);
  }

  private _schedule(): void {
    if (this._timer) {
      return;
    }
    this._timer = window.setTimeout(() => {
      this._timer = 0;
      this._changed.emit();
    }, 300);
  }

  private _tracker: INotebookTracker | null;
  private _timer = 0;
  private _changed = new Signal<this, void>(this);
}
