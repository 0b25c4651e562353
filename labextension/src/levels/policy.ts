/**
 * Which JupyterLab commands a level leaves out (pure; no Lab objects).
 *
 * The server is the judge (it refuses kernels and terminals to `view` and
 * `edit`, and drops a viewer's document changes); this only keeps the UI
 * from offering what would fail, and explains why instead of a raw error.
 * Command ids from JupyterLab 4.6's own extensions (their settings schemas
 * list them: notebook-extension, runmenu/kernelmenu of mainmenu-extension,
 * console-, terminal-, fileeditor-, docmanager-, filebrowser-extension).
 */
import { Access } from '../api';

/** What a refused command would have done. */
export type Excluded = 'run' | 'change';

/** Starting, using or steering kernels and terminals: needs `run`. */
const RUN_COMMANDS: RegExp[] = [
  /^runmenu:/,
  /^kernelmenu:/,
  /^notebook:(run-|restart-|interrupt-kernel|change-kernel|shutdown-kernel|reconnect-to-kernel|create-console|create-subshell-console)/,
  /^console:(create|run-|restart-kernel|interrupt-kernel|change-kernel|shutdown|inject)/,
  /^filemenu:create-console/,
  /^fileeditor:(run-|create-console)/,
  /^terminal:(create-new|open-folder-in-terminal)/,
  /^running:kernel-/,
  /^debugger:/
];

/** Changing documents or files: needs `edit`. */
const CHANGE_COMMANDS: RegExp[] = [
  /^docmanager:(save|rename|delete|duplicate|restore-checkpoint|new-untitled|toggle-autosave)/,
  /^filebrowser:(create-new-|delete|rename|paste|cut|duplicate|upload)/,
  /^fileeditor:(create-new|cut|paste|undo|redo)/,
  /^notebook:(create-new|insert-|delete-cell|cut-|paste-|move-cell-|change-cell-to-|merge-cell|split-cell|duplicate-below|clear-|undo-cell-action|redo-cell-action|trust|hide-|show-|render-all-markdown|replace-selection)/,
  /^cell-toolbar:/,
  /^editmenu:(undo|redo|clear-)/,
  /^markdownviewer:edit/
];

/** What `level` excludes of the command `id`, or null if it is allowed. */
export function excludedBy(level: Access | null, id: string): Excluded | null {
  if (level === 'run') {
    return null;
  }
  if (RUN_COMMANDS.some(re => re.test(id))) {
    // A guest whose level is still unknown is not offered kernels either.
    return 'run';
  }
  if (level === 'view' && CHANGE_COMMANDS.some(re => re.test(id))) {
    return 'change';
  }
  return null;
}
