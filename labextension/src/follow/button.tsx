/** "Follow" / "Stop following" on a collaborators panel row. */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IPerson } from '../api';
import { displayName, useSignal } from '../common';
import { followController } from './controller';

export function FollowButton(props: {
  person: IPerson;
  isMe: boolean;
  trans: TranslationBundle;
}): JSX.Element | null {
  const controller = followController();
  const { person, trans } = props;
  useSignal(controller ? controller.changed : NEVER);
  if (!controller || props.isMe) {
    return null;
  }
  const following = controller.target === person.username;
  const name = displayName(person);
  return (
    <button
      type="button"
      className="jp-Button jp-mod-styled jp-mod-reject rtc-Small rtc-FollowButton"
      aria-pressed={following}
      aria-label={
        following
          ? trans.__('Stop following %1', name)
          : trans.__('Follow %1', name)
      }
      disabled={!following && !person.current}
      onClick={() =>
        following ? controller.stop() : controller.follow(person.username)
      }
    >
      {following ? trans.__('Stop following') : trans.__('Follow')}
    </button>
  );
}

const NEVER = {
  connect: () => false,
  disconnect: () => false
} as unknown as Parameters<typeof useSignal>[0];
