/**
 * rtc-presence JupyterLab extension: several plugins sharing `IRtcPresence`
 * (tokens.ts), in the manner of @jupyter/collaboration-extension.
 *
 * - `rtc-presence:plugin`: presence, identity, join/leave toasts, the
 *   "access ended" notice and quiet tab (also owns the settings schema);
 * - `rtc-presence:sharing`: the "User sharing" menu, command and dialog;
 * - `rtc-presence:collaborators`: the collaborators side panel;
 * - `rtc-presence:badge`: the top-bar badge;
 * - `rtc-presence:cursor-names`: remote cursor names kept visible;
 * - `rtc-presence:connection-lost`: "the owner stopped the server" for guests;
 * - `rtc-presence:levels`: a guest's access level (banner, read-only
 *   documents for view, run commands that explain themselves).
 */
import { plugins } from './plugins';

export { CommandIDs, IRtcPresence, PluginIDs } from './tokens';

export default plugins;
