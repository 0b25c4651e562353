/**
 * Playwright configuration of the rtc-presence UI tests.
 *
 * The tests run in Debian's Chromium (/usr/bin/chromium); Playwright never
 * downloads a browser (set PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 when
 * installing). globalSetup starts a real JupyterHub with `rtc-presence demo`
 * on a free port and a fresh state directory; globalTeardown stops it.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  globalTeardown: './global-teardown.ts',
  // One hub, several browser contexts: never run tests in parallel.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // Spawning a user server and loading JupyterLab on a 2-core machine.
  timeout: 240_000,
  expect: { timeout: 30_000 },
  // failures-reporter last: CI keeps the tail of the log, and that is where it repeats the errors.
  reporter: [['list'], ['html', { open: 'never' }], ['./failures-reporter.ts']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    },
    viewport: { width: 1400, height: 900 },
    actionTimeout: 30_000,
    navigationTimeout: 120_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure'
  }
});
