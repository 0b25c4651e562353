/** Stop the demo hub started by globalSetup: SIGTERM, wait, then SIGKILL. */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { IDemoState, STATE_FILE } from './demo-state';

const STOP_TIMEOUT_MS = 45_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default async function globalTeardown(): Promise<void> {
  if (!fs.existsSync(STATE_FILE)) {
    return;
  }
  const state = JSON.parse(fs.readFileSync(STATE_FILE, 'utf-8')) as IDemoState;
  fs.unlinkSync(STATE_FILE);
  const child = (globalThis as { __rtcDemo?: ChildProcess }).__rtcDemo;
  const done =
    child && child.exitCode === null && child.signalCode === null
      ? new Promise<void>(resolve => child.once('exit', () => resolve()))
      : Promise.resolve();
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  const stopped = child
    ? await Promise.race([
        done.then(() => true),
        new Promise<boolean>(resolve => setTimeout(() => resolve(false), STOP_TIMEOUT_MS))
      ])
    : await (async () => {
        while (alive(state.pid) && Date.now() < deadline) {
          await new Promise(resolve => setTimeout(resolve, 200));
        }
        return !alive(state.pid);
      })();
  if (!stopped && alive(state.pid)) {
    console.warn(`rtc-presence demo did not stop in time; killing ${state.pid}`);
    process.kill(state.pid, 'SIGKILL');
  }
  // Keep the hub's log with the test results, then remove the state.
  const results = path.join(__dirname, 'test-results');
  fs.mkdirSync(results, { recursive: true });
  try {
    fs.copyFileSync(state.log, path.join(results, 'demo.log'));
  } catch {
    // no log to keep
  }
  if (!process.env.RTC_KEEP_DEMO_STATE) {
    fs.rmSync(state.stateDir, { recursive: true, force: true });
  }
}
