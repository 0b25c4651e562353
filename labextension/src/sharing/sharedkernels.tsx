/**
 * "Also restart these kernels": kernels someone else started that a guest
 * ran code in. Revoking the guest ends what they started, but not what their
 * code left running in these; restarting them does (and stops everybody's
 * work in them, so the owner chooses).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ISharedKernel } from '../api';
import { baseName } from '../common';

export function SharedKernels(props: {
  kernels: ISharedKernel[];
  checked: boolean;
  onChange: (checked: boolean) => void;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { kernels, trans } = props;
  if (kernels.length === 0) {
    return null;
  }
  const names = kernels
    .map(k =>
      k.path ? baseName(k.path) : trans.__('a kernel without notebook')
    )
    .join(', ');
  return (
    <label className="rtc-SharedKernels">
      <input
        type="checkbox"
        checked={props.checked}
        onChange={e => props.onChange(e.currentTarget.checked)}
      />{' '}
      {trans.__(
        'When revoking, also restart the kernels they ran code in: %1',
        names
      )}
    </label>
  );
}
