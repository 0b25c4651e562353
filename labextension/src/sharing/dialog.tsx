/**
 * The "User sharing" dialog around `SharingPanel`: one at a time, focus on
 * the first useful control when it opens, Tab kept inside.
 */
import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { FIRST_CONTROL, ISharingProps, SharingPanel } from './panel';

const FOCUSABLE =
  'button, select, input, textarea, a[href], [tabindex]:not([tabindex="-1"])';

let openDialog: Dialog<unknown> | null = null;

/**
 * JupyterLab's Dialog computes where Tab wraps to when it is attached,
 * before the React body has rendered, so Tab on the last button would stay
 * there: wrap Tab / Shift+Tab ourselves, before the Dialog sees it.
 */
function trapTab(dialog: Dialog<unknown>): (event: KeyboardEvent) => void {
  return (event: KeyboardEvent) => {
    const active = document.activeElement;
    if (event.key !== 'Tab' || !active || !dialog.node.contains(active)) {
      return;
    }
    const focusable = Array.from(
      dialog.node.querySelectorAll<HTMLElement>(FOCUSABLE)
    ).filter(el => !el.hasAttribute('disabled') && el.offsetParent !== null);
    if (focusable.length === 0) {
      return;
    }
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const target =
      !event.shiftKey && active === last
        ? first
        : event.shiftKey && active === first
          ? last
          : null;
    if (target) {
      event.preventDefault();
      event.stopPropagation();
      target.focus();
    }
  };
}

/** Focus the first useful control (once it exists), then bring focus back
 *  whenever the focused element goes away (a dismissed error, a revoked row). */
function watchFocus(dialog: Dialog<unknown>): MutationObserver {
  let placed = false;
  const observer = new MutationObserver(() => {
    const active = document.activeElement;
    const lost = !active || active === document.body;
    const first = dialog.node.querySelector<HTMLElement>(FIRST_CONTROL);
    if (!placed && first) {
      // Until the body has rendered, JupyterLab focuses the Close button.
      placed = true;
      if (lost || active?.closest('.jp-Dialog-footer, .jp-Dialog-close')) {
        first.focus();
      }
      return;
    }
    if (lost && !dialog.isDisposed) {
      (
        first ??
        dialog.node.querySelector<HTMLElement>(
          '.jp-Dialog-footer .jp-Dialog-button'
        )
      )?.focus();
    }
  });
  observer.observe(dialog.node, { childList: true, subtree: true });
  return observer;
}

/** Open the sharing dialog (or focus it if it is already open). */
export async function openSharingDialog(props: ISharingProps): Promise<void> {
  if (openDialog && !openDialog.isDisposed) {
    openDialog.activate();
    return;
  }
  const body = ReactWidget.create(<SharingPanel {...props} />);
  body.addClass('rtc-SharingBody');
  const dialog = new Dialog({
    title: props.trans.__('User sharing'),
    body,
    buttons: [Dialog.cancelButton({ label: props.trans.__('Close') })],
    hasClose: true,
    focusNodeSelector: FIRST_CONTROL
  });
  dialog.addClass('rtc-SharingDialog');
  openDialog = dialog;
  const onKey = trapTab(dialog);
  document.addEventListener('keydown', onKey, true);
  const observer = watchFocus(dialog);
  try {
    await dialog.launch();
  } finally {
    observer.disconnect();
    document.removeEventListener('keydown', onKey, true);
    openDialog = null;
    dialog.dispose();
  }
}
