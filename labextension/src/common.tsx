/**
 * Small shared pieces: avatars, time formatting, safe colors, hooks.
 *
 * All user-provided text is rendered through React text nodes (never
 * innerHTML), so a display name like `<img src=x onerror=...>` stays text.
 */
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { IIdentity } from './api';

const FALLBACK_COLOR = 'var(--jp-layout-color3)';
const COLOR_RE = /^#[0-9a-fA-F]{3,8}$|^(rgb|hsl)a?\([0-9.,%\s]+\)$/;

/** A CSS color from the server, or a theme fallback if it is not a plain color. */
export function safeColor(color: string | null | undefined): string {
  return color && COLOR_RE.test(color) ? color : FALLBACK_COLOR;
}

/** The label we show for a person: display name, else user name. */
export function displayName(person: Partial<IIdentity>): string {
  return person.display_name || person.name || person.username || '?';
}

/** Initials, computed if the server gave none. */
export function initialsOf(person: Partial<IIdentity>): string {
  if (person.initials) {
    return person.initials;
  }
  const words = displayName(person).trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map(w => Array.from(w)[0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

export interface IAvatarProps {
  person: Partial<IIdentity>;
  size?: 'small' | 'normal';
  title?: string;
}

/** Initials in a circle of the person's color. */
export function Avatar(props: IAvatarProps): JSX.Element {
  const { person } = props;
  return (
    <span
      className={`rtc-Avatar rtc-Avatar-${props.size ?? 'normal'}`}
      style={{ backgroundColor: safeColor(person.color) }}
      title={props.title ?? displayName(person)}
      data-username={person.username}
      aria-hidden="true"
    >
      {initialsOf(person)}
    </span>
  );
}

/** A name that is truncated with an ellipsis and shows in full on hover. */
export function Name(props: {
  person: Partial<IIdentity>;
  className?: string;
}): JSX.Element {
  const name = displayName(props.person);
  return (
    <span className={`rtc-Name ${props.className ?? ''}`.trim()} title={name}>
      {name}
    </span>
  );
}

export function parseTime(value: string | null | undefined): Date | null {
  if (!value) {
    return null;
  }
  const date = new Date(value);
  return isNaN(date.getTime()) ? null : date;
}

/** Local date and time, short. */
export function formatTime(value: string | null | undefined): string {
  const date = parseTime(value);
  if (!date) {
    return '—';
  }
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString(undefined, {
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit'
      });
}

/** Local date and time, always with the date ("2 Dec, 14:03"). */
export function formatDateTime(
  value: string | null | undefined,
  seconds = false
): string {
  const date = parseTime(value);
  if (!date) {
    return '—';
  }
  return date.toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {})
  });
}

/** "1 h 02 min", "4 min 05 s", "12 s" for a number of seconds. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (days > 0) {
    return `${days} d ${hours} h`;
  }
  if (hours > 0) {
    return `${hours} h ${pad(minutes)} min`;
  }
  if (minutes > 0) {
    return `${minutes} min ${pad(seconds)} s`;
  }
  return `${seconds} s`;
}

/** Re-render whenever `signal` is emitted. */
export function useSignal(signal: ISignal<unknown, unknown>): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = () => setVersion(v => v + 1);
    signal.connect(bump);
    return () => {
      signal.disconnect(bump);
    };
  }, [signal]);
}

/** Re-render every `ms` milliseconds (for countdowns and "idle N min"). */
export function useTick(ms: number): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}

/** The base name of a path. */
export function baseName(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}
