/**
 * The notice shown when this tab's access ended: the owner revoked us, or
 * stopped the server (the hub then revokes every share). It covers the page,
 * keeps the keyboard to itself (no shortcut reaches JupyterLab behind it, so
 * nothing ends in an error dialog), offers a real way back to the hub home,
 * and is built with text nodes only.
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

export type EndReason = 'revoked' | 'expired' | 'stopped';

export const REVOKED_ID = 'rtc-presence-revoked';
export const STOPPED_ID = 'rtc-presence-ended';
const NOTICE_CLASS = 'rtc-AccessEnded';

/** The hub's home page, or null outside JupyterHub. */
export function hubHomeUrl(): string | null {
  const prefix = PageConfig.getOption('hubPrefix');
  if (!prefix) {
    return null;
  }
  return PageConfig.getOption('hubHost') + URLExt.join(prefix, 'home');
}

function texts(
  reason: EndReason,
  owner: string,
  trans: TranslationBundle
): { title: string; text: string } {
  if (reason === 'expired') {
    return {
      title: trans.__('Your access to this server has expired'),
      text: trans.__(
        'The time %1 gave you on this server is over. You are disconnected: nothing you type here is saved. Ask %1 for a new invite link if you need access again.',
        owner
      )
    };
  }
  if (reason === 'revoked') {
    return {
      title: trans.__('Your access to this server was revoked by its owner'),
      text: trans.__(
        '%1 revoked your access. You are disconnected: you can no longer see or change its files, and nothing you type here is saved. Ask %1 for a new invite link if you need access again.',
        owner
      )
    };
  }
  return {
    title: trans.__('%1 stopped the server; your access ended', owner),
    text: trans.__(
      'You are disconnected: nothing you type here is saved. Ask %1 for a new invite link when the server runs again.',
      owner
    )
  };
}

export function showAccessEnded(
  reason: EndReason,
  owner: string,
  trans: TranslationBundle
): HTMLElement {
  const existing = document.querySelector<HTMLElement>(`.${NOTICE_CLASS}`);
  if (existing) {
    return existing;
  }
  const id = reason === 'stopped' ? STOPPED_ID : REVOKED_ID;
  const overlay = document.createElement('div');
  overlay.id = id;
  overlay.className = `rtc-RevokedOverlay ${NOTICE_CLASS}`;
  overlay.dataset.reason = reason;

  const box = document.createElement('div');
  box.className = 'rtc-RevokedBox';
  box.setAttribute('role', 'alertdialog');
  box.setAttribute('aria-modal', 'true');
  box.setAttribute('aria-labelledby', `${id}-title`);
  box.setAttribute('aria-describedby', `${id}-text`);
  box.tabIndex = -1;

  const { title, text } = texts(reason, owner, trans);
  const heading = document.createElement('h2');
  heading.id = `${id}-title`;
  heading.textContent = title;
  const paragraph = document.createElement('p');
  paragraph.id = `${id}-text`;
  paragraph.textContent = text;
  box.append(heading, paragraph);

  const home = hubHomeUrl();
  if (home) {
    const link = document.createElement('a');
    link.className = 'jp-Button jp-mod-styled jp-mod-accept rtc-RevokedHome';
    link.href = home;
    link.textContent = trans.__('Back to the hub home');
    box.append(link);
  }
  overlay.append(box);
  document.body.append(overlay);
  const focusTarget = box.querySelector('a') ?? box;
  focusTarget.focus();
  keepKeyboard(overlay, focusTarget);
  return overlay;
}

/**
 * While the notice is in the page, keys go to it only (Tab stays on its
 * button); once someone removes it, JupyterLab gets its keys back.
 */
function keepKeyboard(overlay: HTMLElement, target: HTMLElement): void {
  const onKey = (event: KeyboardEvent) => {
    if (!overlay.isConnected) {
      window.removeEventListener('keydown', onKey, true);
      return;
    }
    const inside = overlay.contains(event.target as Node | null);
    if (event.key === 'Tab' || !inside) {
      event.preventDefault();
      event.stopPropagation();
      target.focus();
    }
  };
  window.addEventListener('keydown', onKey, true);
}
