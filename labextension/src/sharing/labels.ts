/**
 * Lifetimes offered for a new link, and the names links are shown with.
 *
 * The hub's share-code ids (`sc_1`) are reused after revocations, so a new
 * link and a revoked one could look alike: links are named by when they
 * were made ("Link created 2 Dec, 14:03"), numbered when two share a minute.
 */
import { IInfo, IInvite } from '../api';
import { formatDateTime, formatDuration } from '../common';

const LIFETIMES: { seconds: number; label: string }[] = [
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 900, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 8 * 3600, label: '8 hours' },
  { seconds: 86400, label: '1 day' },
  { seconds: 7 * 86400, label: '1 week' }
];
const DEFAULT_LIFETIME = 3600;

export function lifetimeOptions(
  info: IInfo
): { seconds: number; label: string }[] {
  const { min, max } = info.invite_lifetime;
  const options = LIFETIMES.filter(o => o.seconds >= min && o.seconds <= max);
  for (const extra of [info.invite_lifetime.default, min, max]) {
    if (
      extra >= min &&
      extra <= max &&
      !options.some(o => o.seconds === extra)
    ) {
      options.push({ seconds: extra, label: formatDuration(extra) });
    }
  }
  return options.sort((a, b) => a.seconds - b.seconds);
}

export function defaultLifetime(info: IInfo): number {
  const { min, max } = info.invite_lifetime;
  if (DEFAULT_LIFETIME >= min && DEFAULT_LIFETIME <= max) {
    return DEFAULT_LIFETIME;
  }
  return Math.min(max, Math.max(min, info.invite_lifetime.default));
}

/**
 * When each link was made, by id ("2 Dec, 14:03"; with seconds when two
 * links share a minute, then numbered if they share a second too);
 * `extra` (a link not listed yet) included.
 */
export function linkTimes(
  invites: IInvite[],
  extra?: IInvite | null
): Map<string, string> {
  const all = [...invites];
  if (extra && !all.some(i => i.id === extra.id)) {
    all.push(extra);
  }
  all.sort((a, b) =>
    a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0
  );
  const minutes = new Map<string, number>();
  for (const invite of all) {
    const key = formatDateTime(invite.created_at);
    minutes.set(key, (minutes.get(key) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  const times = new Map<string, string>();
  for (const invite of all) {
    const short = formatDateTime(invite.created_at);
    const base =
      (minutes.get(short) ?? 0) > 1
        ? formatDateTime(invite.created_at, true)
        : short;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    times.set(invite.id, n === 1 ? base : `${base} (${n})`);
  }
  return times;
}
