/**
 * Who ran each cell: a small initials avatar next to the execution count of
 * every cell whose last run the timeline knows, live for everyone ("Run by
 * Bob Dupont at 14:03"; while it runs: "Running: Bob Dupont, since 14:03").
 *
 * The badge sits in the cell's input area, not in the prompt: JupyterLab
 * rewrites the prompt's text on every execution count change
 * (`InputPrompt.executionCount` in @jupyterlab/cells), which would drop it.
 */
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { displayName, formatTime, initialsOf, safeColor } from '../common';
import { ActivityModel } from './model';
import { IActivityEvent } from './types';

const BADGE_CLASS = 'rtc-RunBy';

/** The tooltip (and accessible name) of a badge. */
export function runByLabel(
  event: IActivityEvent,
  trans: TranslationBundle
): string {
  const name = displayName(event);
  if (event.status === 'running') {
    return trans.__(
      'Running: %1, since %2',
      name,
      formatTime(event.started ?? event.at)
    );
  }
  return trans.__(
    'Run by %1 at %2',
    name,
    formatTime(event.finished ?? event.at)
  );
}

export class CellBadges {
  constructor(
    private _tracker: INotebookTracker,
    private _model: ActivityModel,
    private _trans: TranslationBundle
  ) {
    _model.changed.connect(() => this._renderAll());
    _tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    _tracker.forEach(panel => this._watch(panel));
  }

  private _watch(panel: NotebookPanel): void {
    const render = () => this._render(panel);
    void panel.context.ready.then(render);
    panel.content.modelContentChanged.connect(render);
    panel.content.model?.cells.changed.connect(render);
  }

  private _renderAll(): void {
    this._tracker.forEach(panel => this._render(panel));
  }

  private _render(panel: NotebookPanel): void {
    if (panel.isDisposed || !panel.context.isReady) {
      return;
    }
    const path = panel.context.localPath;
    for (const cell of panel.content.widgets) {
      const event = this._model.lastRun(path, cell.model.id);
      this._badge(cell, event);
    }
  }

  private _badge(cell: Cell, event: IActivityEvent | null): void {
    const host = cell.inputArea?.node;
    if (!host) {
      return;
    }
    let badge = host.querySelector<HTMLElement>(`:scope > .${BADGE_CLASS}`);
    if (!event) {
      badge?.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = BADGE_CLASS;
      badge.setAttribute('role', 'img');
      host.appendChild(badge);
    }
    const label = runByLabel(event, this._trans);
    const running = event.status === 'running';
    badge.textContent = initialsOf(event);
    badge.title = label;
    badge.setAttribute('aria-label', label);
    badge.dataset.username = event.username;
    badge.dataset.status = event.status ?? '';
    badge.classList.toggle('rtc-mod-running', running);
    badge.style.backgroundColor = safeColor(event.color);
  }
}
