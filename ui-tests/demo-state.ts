/** Where globalSetup records the demo hub it started, for globalTeardown. */
import * as os from 'os';
import * as path from 'path';

export const STATE_FILE = path.join(
  os.tmpdir(),
  `rtc-presence-ui-tests-${process.getuid?.() ?? 'user'}.json`
);

export interface IDemoState {
  pid: number;
  stateDir: string;
  url: string;
  log: string;
}
