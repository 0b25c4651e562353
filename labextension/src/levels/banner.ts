/**
 * The banner at the top of the page for guests at `view` or `edit`: what
 * their access allows, whose server it is, a way to dismiss it. It comes
 * back when the level changes, and goes away at `run`.
 *
 * A Lumino widget that hides itself rather than an empty React body: the
 * shell's header is a BoxPanel, which sizes children by their CSS minimum
 * height (style/levels.css) and re-fits when one is shown or hidden.
 */
import { Widget } from '@lumino/widgets';

import { Access } from '../api';
import { IRtcPresence } from '../tokens';
import { bannerText } from './labels';

export const BANNER_ID = 'rtc-presence-level-banner';

export class LevelBanner extends Widget {
  constructor(
    private _rtc: IRtcPresence,
    private _level: () => Access | null
  ) {
    super();
    this.id = BANNER_ID;
    this.addClass('rtc-LevelBannerWidget');
    const { trans } = _rtc;
    this._box.className = 'rtc-LevelBanner';
    this._box.setAttribute('role', 'status');
    this._text.className = 'rtc-LevelBanner-text';
    this._more.className = 'rtc-Muted rtc-LevelBanner-more';
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.className =
      'jp-Button jp-mod-styled jp-mod-reject rtc-Small rtc-LevelBanner-dismiss';
    dismiss.setAttribute('aria-label', trans.__('Dismiss the access notice'));
    dismiss.textContent = trans.__('Dismiss');
    dismiss.addEventListener('click', () => {
      this._dismissed = this._level();
      this.refresh();
    });
    this._box.append(this._text, this._more, dismiss);
    this.node.append(this._box);
    _rtc.meChanged.connect(this.refresh, this);
    _rtc.endedChanged.connect(this.refresh, this);
    this.refresh();
  }

  /** Show what the current level says, or hide. */
  refresh(): void {
    const level = this._level();
    const text = bannerText(level, this._rtc.trans);
    if (!text || this._rtc.ended || this._dismissed === level) {
      this.hide();
      return;
    }
    this._box.dataset.access = level ?? '';
    this._text.textContent = text;
    this._more.textContent = this._rtc.trans.__(
      'Ask %1 if you need more access.',
      this._rtc.ownerName()
    );
    this.show();
  }

  private _box = document.createElement('div');
  private _text = document.createElement('span');
  private _more = document.createElement('span');
  private _dismissed: Access | null | undefined = undefined;
}
