import { badgePlugin } from './badge';
import { collaboratorsPlugin } from './collaborators';
import { connectionLostPlugin } from './connectionlost';
import { corePlugin } from './core';
import { cursorNamesPlugin } from './cursornames';
import { executionPlugin } from '../execution/plugin';
import { followPlugin } from '../follow/plugin';
import { levelsPlugin } from './levels';
import { sharingPlugin } from './sharing';

/** Every plugin of rtc-presence; each can be disabled by its id. */
export const plugins = [
  corePlugin,
  sharingPlugin,
  collaboratorsPlugin,
  badgePlugin,
  cursorNamesPlugin,
  connectionLostPlugin,
  levelsPlugin,
  executionPlugin,
  followPlugin
];
