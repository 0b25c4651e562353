/** The "Following Bob Dupont - Stop" bar at the top of the page. */
import { TranslationBundle } from '@jupyterlab/translation';

export class FollowBar {
  constructor(
    private _trans: TranslationBundle,
    private _onStop: () => void
  ) {}

  show(name: string): void {
    this.hide();
    const bar = document.createElement('div');
    bar.className = 'rtc-FollowBar';
    bar.setAttribute('role', 'status');
    const text = document.createElement('span');
    text.className = 'rtc-FollowText';
    text.textContent = this._trans.__('Following %1', name);
    const stop = document.createElement('button');
    stop.type = 'button';
    stop.className = 'jp-Button jp-mod-styled jp-mod-reject rtc-Small';
    stop.textContent = this._trans.__('Stop');
    stop.title = this._trans.__('Stop following (Escape)');
    stop.addEventListener('click', () => this._onStop());
    bar.append(text, ' ', stop);
    document.body.appendChild(bar);
    this._node = bar;
  }

  hide(): void {
    this._node?.remove();
    this._node = null;
  }

  private _node: HTMLElement | null = null;
}
