/** The link just created: its URL (shown only once), copy, expiry. */
import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IInvite } from '../api';
import { formatDateTime } from '../common';
import { errorMessage } from '../request';
import { Countdown } from './controls';

export function NewLinkBox(props: {
  invite: IInvite;
  label: string;
  /** What it gives ("can view, for 1 h 00 min"). */
  gives?: string;
  onStatus: (message: string) => void;
  onError: (message: string) => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { invite, trans } = props;
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => setCopied(false), [invite.id]);
  const url = invite.url;
  if (!url) {
    return null;
  }
  const copy = async () => {
    try {
      try {
        await navigator.clipboard.writeText(url);
      } catch {
        // No async clipboard (insecure origin or permission): use the
        // execCommand-based copy JupyterLab itself uses.
        Clipboard.copyToSystem(url);
      }
      setCopied(true);
      props.onStatus(trans.__('Link copied to the clipboard'));
    } catch (err) {
      props.onError(errorMessage(err));
    }
  };
  return (
    <div
      className="rtc-NewLink"
      data-invite-id={invite.id}
      aria-label={props.label}
      role="group"
    >
      <div className="rtc-Row">
        <code className="rtc-LinkText" title={url}>
          {url}
        </code>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept rtc-Copy"
          aria-label={trans.__('Copy link')}
          onClick={() => void copy()}
        >
          {copied ? trans.__('Copied') : trans.__('Copy')}
        </button>
      </div>
      {props.gives && (
        <p className="rtc-NewLinkAccess">
          {trans.__('People who accept it: %1', props.gives)}
        </p>
      )}
      <p className="rtc-Muted">
        {trans.__('Expires %1 ', formatDateTime(invite.expires_at))}(
        <Countdown expiresAt={invite.expires_at} trans={trans} />
        ).{' '}
        {trans.__(
          'Anyone with the link and an account on this hub can use it until then; it is shown only once.'
        )}
      </p>
    </div>
  );
}
