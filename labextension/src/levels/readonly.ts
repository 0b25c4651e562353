/**
 * Read-only documents for `view` guests: no typing into cells or text
 * editors, no save prompts, find-and-replace without replace.
 *
 * A notebook cell's `readOnly` setter writes `editable: false` into the
 * shared cell metadata when `syncEditable` is on (the notebook turns it on
 * for every cell; @jupyterlab/cells 4.6 `Cell.saveEditableState`): a Yjs
 * change everybody would get. So `syncEditable` is turned off first, and
 * turned back on to undo (which re-reads the metadata, writing nothing).
 * The server drops a viewer's document changes anyway; this keeps their
 * page from diverging from everyone else's.
 */
import type { Cell } from '@jupyterlab/cells';
import type { CodeEditor } from '@jupyterlab/codeeditor';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import { Notebook } from '@jupyterlab/notebook';

/** Cells we made read-only (to give back what the metadata says). */
const lockedCells = new WeakSet<Cell>();
/** Editors we made read-only, and models we marked read-only. */
const lockedEditors = new WeakSet<CodeEditor.IEditor>();
const lockedModels = new WeakSet<object>();

function setCell(cell: Cell, locked: boolean): void {
  if (locked && !lockedCells.has(cell)) {
    lockedCells.add(cell);
    cell.syncEditable = false;
    cell.readOnly = true;
  } else if (!locked && lockedCells.has(cell)) {
    lockedCells.delete(cell);
    // Reads `editable` from the metadata again (an owner's lock stays).
    cell.syncEditable = true;
  }
}

function setNotebook(notebook: Notebook, locked: boolean): void {
  for (const cell of notebook.widgets) {
    setCell(cell, locked);
  }
}

function setEditor(editor: CodeEditor.IEditor, locked: boolean): void {
  if (locked && !lockedEditors.has(editor)) {
    if (editor.getOption('readOnly') === true) {
      return; // read-only already, not ours to give back
    }
    lockedEditors.add(editor);
    editor.setOption('readOnly', true);
  } else if (!locked && lockedEditors.has(editor)) {
    lockedEditors.delete(editor);
    editor.setOption('readOnly', false);
  }
}

/** Make `widget` read-only (`locked`) or give it back its own state. */
export function setReadOnly(widget: IDocumentWidget, locked: boolean): void {
  const content = widget.content as unknown;
  if (content instanceof Notebook) {
    setNotebook(content, locked);
  } else {
    const editor = (content as { editor?: CodeEditor.IEditor }).editor;
    if (editor && typeof editor.setOption === 'function') {
      setEditor(editor, locked);
    }
  }
  const model = widget.context.model;
  if (locked && !model.readOnly) {
    lockedModels.add(model);
    model.readOnly = true;
  } else if (!locked && lockedModels.has(model)) {
    lockedModels.delete(model);
    model.readOnly = false;
  }
}

/**
 * Keep a notebook's new cells (the owner adds some) at its level:
 * `isLocked` is asked after the notebook made the cell widgets.
 */
export function followCells(
  widget: IDocumentWidget,
  isLocked: () => boolean
): void {
  const content = widget.content as unknown;
  if (!(content instanceof Notebook)) {
    return;
  }
  const notebook = content;
  const onCells = () => {
    if (isLocked()) {
      setNotebook(notebook, true);
    }
  };
  const connect = () => notebook.model?.cells.changed.connect(onCells);
  connect();
  notebook.modelChanged.connect(() => {
    connect();
    onCells();
  });
}
