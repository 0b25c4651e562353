/**
 * The persistent notice shown when the owner revoked our access (the
 * presence stream closed with code 4403). It covers the whole page, stays
 * until the page is left, and is built with text nodes only.
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';

export const REVOKED_ID = 'rtc-presence-revoked';

export function showRevokedNotice(trans: TranslationBundle): HTMLElement {
  const existing = document.getElementById(REVOKED_ID);
  if (existing) {
    return existing;
  }
  const overlay = document.createElement('div');
  overlay.id = REVOKED_ID;
  overlay.className = 'rtc-RevokedOverlay';

  const box = document.createElement('div');
  box.className = 'rtc-RevokedBox';
  box.setAttribute('role', 'alertdialog');
  box.setAttribute('aria-modal', 'true');
  box.setAttribute('aria-labelledby', `${REVOKED_ID}-title`);
  box.setAttribute('aria-describedby', `${REVOKED_ID}-text`);

  const title = document.createElement('h2');
  title.id = `${REVOKED_ID}-title`;
  title.textContent = trans.__(
    'Your access to this server was revoked by its owner'
  );

  const text = document.createElement('p');
  text.id = `${REVOKED_ID}-text`;
  text.textContent = trans.__(
    'You are disconnected: you can no longer see or change its files, and nothing you type here is saved. Ask the owner for a new invite link if you need access again.'
  );
  box.append(title, text);

  const hubPrefix = PageConfig.getOption('hubPrefix');
  if (hubPrefix) {
    const home = document.createElement('a');
    home.className = 'jp-Button jp-mod-styled jp-mod-accept rtc-RevokedHome';
    home.href = URLExt.join(hubPrefix, 'home');
    home.textContent = trans.__('Go to my JupyterHub home');
    box.append(home);
  }

  overlay.append(box);
  document.body.append(overlay);
  (box.querySelector('a') ?? box).focus();
  if (!box.querySelector('a')) {
    box.tabIndex = -1;
    box.focus();
  }
  return overlay;
}
