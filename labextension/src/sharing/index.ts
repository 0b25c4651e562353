export { openSharingDialog } from './dialog';
export { ConfirmButton, Countdown, ErrorBox } from './controls';
export type { ISharingProps } from './panel';
