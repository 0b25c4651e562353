/**
 * A viewer who types into a read-only cell or editor is told why, once
 * (not one toast per key): the editor itself just ignores the keys.
 */
const EDITOR = '.jp-Notebook .cm-editor, .jp-FileEditor .cm-editor';

/** Whether `event` would change text in a writable editor. */
function isTyping(event: KeyboardEvent): boolean {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    return false;
  }
  return (
    event.key.length === 1 ||
    event.key === 'Backspace' ||
    event.key === 'Delete' ||
    event.key === 'Enter'
  );
}

export function explainTyping(
  isViewer: () => boolean,
  explain: () => void
): void {
  document.addEventListener(
    'keydown',
    event => {
      const target = event.target as Element | null;
      if (isViewer() && isTyping(event) && target?.closest?.(EDITOR)) {
        explain();
      }
    },
    true
  );
}
