/**
 * Start the real demo hub: `rtc-presence demo --port <free> --state-dir <tmp>`.
 *
 * The command comes from PATH (the Makefile puts .venv/bin first); set
 * RTC_PRESENCE_CMD to run something else (e.g. "python -m rtc_presence.cli").
 * Set RTC_DEMO_URL to test an already running demo instead (nothing is
 * started or stopped then).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

import { IDemoState, STATE_FILE } from './demo-state';

const READY_TIMEOUT_MS = 120_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function hubAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}hub/api/`, {
      signal: AbortSignal.timeout(2000)
    });
    return response.ok;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf-8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export default async function globalSetup(): Promise<void> {
  if (process.env.RTC_DEMO_URL) {
    process.env.RTC_DEMO_URL = process.env.RTC_DEMO_URL.replace(/\/?$/, '/');
    return;
  }
  const port = await freePort();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtc-presence-ui-'));
  const log = path.join(stateDir, 'demo.log');
  const logFd = fs.openSync(log, 'a');
  const [command, ...prefix] = (process.env.RTC_PRESENCE_CMD ?? 'rtc-presence').split(/\s+/);
  const args = [...prefix, 'demo', '--port', String(port), '--state-dir', stateDir];
  const child: ChildProcess = spawn(command, args, {
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, PYTHONUNBUFFERED: '1' }
  });
  fs.closeSync(logFd);
  let exited: string | null = null;
  child.on('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.on('error', error => {
    exited = `could not start ${command}: ${error.message}`;
  });
  // Keep the handle so that globalTeardown (same process) can wait for it.
  (globalThis as { __rtcDemo?: ChildProcess }).__rtcDemo = child;

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await hubAnswers(url))) {
    if (exited) {
      throw new Error(`rtc-presence demo ${exited} before the hub answered.\n${tail(log)}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(
        `rtc-presence demo did not answer on ${url} within ${READY_TIMEOUT_MS / 1000} s.\n${tail(log)}`
      );
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
  const state: IDemoState = { pid: child.pid!, stateDir, url, log };
  fs.writeFileSync(STATE_FILE, JSON.stringify(state));
  process.env.RTC_DEMO_URL = url;
  process.env.RTC_DEMO_LOG = log;
  // A new hub: every consent page will be shown.
  process.env.RTC_DEMO_FRESH = '1';
  console.log(`rtc-presence demo running at ${url} (log: ${log})`);
}
