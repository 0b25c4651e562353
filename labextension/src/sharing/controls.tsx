/**
 * Controls shared by the sharing dialog and the collaborators panel: the
 * one confirmation pattern for destructive actions, the error box and the
 * live countdown.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatDuration, parseTime, useTick } from '../common';

export interface IConfirmButtonProps {
  /** Text of the button that asks, and of the destructive button. */
  label: string;
  /** Accessible name of the ask button ("Revoke access for Bob Dupont"). */
  ariaLabel?: string;
  /** The question shown inline. */
  confirmText: string;
  disabled?: boolean;
  busy?: boolean;
  className?: string;
  onConfirm: () => void;
  trans: TranslationBundle;
}

/**
 * A destructive action confirmed inline: the button turns into the
 * question, the destructive button and Cancel. Focus goes to Cancel (the
 * safe choice), so Enter or Space right after asking never destroys
 * anything; Escape cancels, and focus returns to the button.
 */
export function ConfirmButton(props: IConfirmButtonProps): JSX.Element {
  const { trans } = props;
  const [active, setActive] = React.useState(false);
  const cancelRef = React.useRef<HTMLButtonElement>(null);
  const askRef = React.useRef<HTMLButtonElement>(null);
  const wasActive = React.useRef(false);
  React.useEffect(() => {
    if (active) {
      cancelRef.current?.focus();
    } else if (wasActive.current) {
      askRef.current?.focus();
    }
    wasActive.current = active;
  }, [active]);
  const name = props.ariaLabel ?? props.label;
  const className = `jp-Button jp-mod-styled jp-mod-warn rtc-Small ${props.className ?? ''}`;

  if (!active) {
    return (
      <button
        ref={askRef}
        type="button"
        className={className.trim()}
        aria-label={name}
        title={name}
        disabled={props.disabled}
        aria-disabled={props.busy}
        onClick={() => {
          if (!props.busy) {
            setActive(true);
          }
        }}
      >
        {props.label}
      </button>
    );
  }
  return (
    <div
      className="rtc-Confirm"
      role="group"
      aria-label={props.confirmText}
      onKeyDown={event => {
        if (event.key === 'Escape') {
          event.stopPropagation();
          setActive(false);
        }
      }}
    >
      <span className="rtc-ConfirmText">{props.confirmText}</span>
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-warn rtc-Small rtc-ConfirmYes"
        aria-label={trans.__('Confirm: %1', name)}
        onClick={() => {
          wasActive.current = false;
          setActive(false);
          props.onConfirm();
        }}
      >
        {props.label}
      </button>
      <button
        ref={cancelRef}
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject rtc-Small rtc-ConfirmNo"
        aria-label={trans.__('Cancel: %1', name)}
        onClick={() => setActive(false)}
      >
        {trans.__('Cancel')}
      </button>
    </div>
  );
}

export function ErrorBox(props: {
  message: string;
  onDismiss: (() => void) | null;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <div className="rtc-Error" role="alert">
      <span className="rtc-ErrorText">{props.message}</span>
      {props.onDismiss && (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject rtc-Small"
          aria-label={props.trans.__('Dismiss error')}
          onClick={props.onDismiss}
        >
          {props.trans.__('Dismiss')}
        </button>
      )}
    </div>
  );
}

/** "in 59 min 58 s" or "expired", live. */
export function Countdown(props: {
  expiresAt: string;
  trans: TranslationBundle;
}): JSX.Element {
  const now = useTick(1000);
  const end = parseTime(props.expiresAt);
  if (!end) {
    return <span>—</span>;
  }
  const left = (end.getTime() - now) / 1000;
  return (
    <span className="rtc-Countdown" data-expired={left <= 0}>
      {left <= 0
        ? props.trans.__('expired')
        : props.trans.__('in %1', formatDuration(left))}
    </span>
  );
}
