/**
 * The banner at the top of the page for guests at `view` or `edit`: what
 * their access allows, whose server it is, a way to dismiss it. It comes
 * back when the level changes (and goes away at `run`).
 */
import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { Access } from '../api';
import { useSignal } from '../common';
import { IRtcPresence } from '../tokens';
import { bannerText } from './labels';

export const BANNER_ID = 'rtc-presence-level-banner';

function LevelBanner(props: {
  rtc: IRtcPresence;
  level: () => Access | null;
}): JSX.Element | null {
  const { rtc } = props;
  const { trans } = rtc;
  useSignal(rtc.meChanged);
  useSignal(rtc.endedChanged);
  const level = props.level();
  const [dismissed, setDismissed] = React.useState<Access | null>(null);
  const text = bannerText(level, trans);
  if (!text || rtc.ended || dismissed === level) {
    return null;
  }
  return (
    <div className="rtc-LevelBanner" role="status" data-access={level ?? ''}>
      <span className="rtc-LevelBanner-text">{text}</span>
      <span className="rtc-Muted rtc-LevelBanner-more">
        {trans.__('Ask %1 if you need more access.', rtc.ownerName())}
      </span>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject rtc-Small rtc-LevelBanner-dismiss"
        aria-label={trans.__('Dismiss the access notice')}
        onClick={() => setDismissed(level)}
      >
        {trans.__('Dismiss')}
      </button>
    </div>
  );
}

export class LevelBannerWidget extends ReactWidget {
  constructor(
    private _props: { rtc: IRtcPresence; level: () => Access | null }
  ) {
    super();
    this.id = BANNER_ID;
    this.addClass('rtc-LevelBannerWidget');
  }

  render(): JSX.Element {
    return <LevelBanner {...this._props} />;
  }
}
