/**
 * The words for access levels, in one place: short names ("can view"),
 * one line of what each allows (the server's `info.levels`, else ours),
 * what a guest is told, and the "access for" choices of a new link.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { Access, IInfo, LEVELS } from '../api';

/** The level of a new link unless the owner picks another (today's behaviour). */
export const DEFAULT_LEVEL: Access = 'run';

/** "can view", "can edit", "can run code". */
export function levelName(level: Access, trans: TranslationBundle): string {
  switch (level) {
    case 'view':
      return trans.__('can view');
    case 'edit':
      return trans.__('can edit');
    default:
      return trans.__('can run code');
  }
}

/** Used when the server does not describe its levels (an older server). */
function fallbackDescription(level: Access, trans: TranslationBundle): string {
  switch (level) {
    case 'view':
      return trans.__(
        'Open notebooks and files and follow along; no changes, no code.'
      );
    case 'edit':
      return trans.__('Change notebooks and files; no running code.');
    default:
      return trans.__(
        "Change notebooks and files and run code as the owner's account."
      );
  }
}

/** The levels to offer, each with one line saying what it allows. */
export function levelChoices(
  info: IInfo | null,
  trans: TranslationBundle
): { access: Access; name: string; description: string }[] {
  return LEVELS.map(access => ({
    access,
    name: levelName(access, trans),
    description:
      info?.levels?.find(l => l.access === access)?.description ||
      fallbackDescription(access, trans)
  }));
}

/** The banner for a guest at `level`, or null when there is nothing to say. */
export function bannerText(
  level: Access | null,
  trans: TranslationBundle
): string | null {
  switch (level) {
    case 'view':
      return trans.__(
        'View only: you can follow along but not change anything'
      );
    case 'edit':
      return trans.__(
        'You can edit; running code is not included in your access'
      );
    default:
      return null;
  }
}

/** What a guest is told when they try something their level excludes. */
export function refusalText(
  level: Access,
  what: 'run' | 'change',
  trans: TranslationBundle
): string {
  return what === 'run'
    ? trans.__('Your access (%1) does not include running code', level)
    : trans.__('Your access (%1) does not include changing documents', level);
}

/** How long each person who accepts a link keeps access. */
export const ACCESS_FOR: { seconds: number | null; label: string }[] = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: null, label: 'until the server stops' }
];
