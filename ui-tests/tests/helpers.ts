/**
 * Shared steps: log in through the hub's form, open JupyterLab, open the
 * sharing dialog, read colors, find elements by keyboard.
 */
import * as path from 'path';

import { Browser, BrowserContext, expect, Locator, Page } from '@playwright/test';

export const PASSWORD = process.env.RTC_DEMO_PASSWORD ?? 'demo';
export const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

export interface ISession {
  user: string;
  context: BrowserContext;
  page: Page;
}

/** The demo hub's URL, ending with "/". */
export function hubUrl(): string {
  const url = process.env.RTC_DEMO_URL;
  if (!url) {
    throw new Error('RTC_DEMO_URL is not set: globalSetup did not start the demo');
  }
  return url;
}

export function screenshotPath(name: string): string {
  return path.join(SCREENSHOTS, name);
}

/**
 * Log `user` in through /hub/login. With `spawn`, the hub then starts the
 * user's own server and redirects to JupyterLab; otherwise it stops at
 * /hub/home (a guest does not need a server of their own).
 */
export async function login(
  browser: Browser,
  user: string,
  options: { spawn: boolean }
): Promise<ISession> {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 }
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: new URL(hubUrl()).origin
  });
  const page = await context.newPage();
  const prefix = new URL(hubUrl()).pathname;
  const next = options.spawn ? '' : `?next=${encodeURIComponent(`${prefix}hub/home`)}`;
  await page.goto(`${hubUrl()}hub/login${next}`);
  await page.locator('#username_input').fill(user);
  await page.locator('#password_input').fill(PASSWORD);
  await page.locator('#login_submit').click();
  if (options.spawn) {
    await page.waitForURL(new RegExp(`/user/${user}/lab`), { timeout: 180_000 });
    await waitForLab(page);
  } else {
    await page.waitForURL(/\/hub\/home/);
  }
  return { user, context, page };
}

/** JupyterLab is up and our plugin has activated (the badge knows who I am). */
export async function waitForLab(page: Page): Promise<void> {
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: 120_000 });
  await expect(page.locator('.rtc-Badge .rtc-Badge-me')).toBeVisible({
    timeout: 60_000
  });
}

/** A person accepts an invite link and authorizes access to the owner's server. */
export async function acceptInvite(page: Page, inviteUrl: string, owner: string): Promise<void> {
  await page.goto(inviteUrl);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  // Opening someone else's server runs OAuth: the hub asks for consent the
  // first time this person opens it (another spec may already have done so
  // on the same demo hub), and otherwise goes straight to JupyterLab.
  const authorize = page.getByRole('button', { name: 'Authorize' });
  await expect(authorize.or(page.locator('#jp-main-dock-panel'))).toBeVisible({
    timeout: 120_000
  });
  if (await authorize.isVisible()) {
    await authorize.click();
  }
  await page.waitForURL(new RegExp(`/user/${owner}/lab`), { timeout: 120_000 });
  await waitForLab(page);
}

/** Open the "User sharing" top-level menu and its command. */
export async function openSharingFromMenu(page: Page): Promise<Locator> {
  await page.locator('#jp-MainMenu .lm-MenuBar-itemLabel', { hasText: 'User sharing' }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: 'Open user sharing menu' }).click();
  const dialog = sharingDialog(page);
  await expect(dialog).toBeVisible();
  return dialog;
}

export function sharingDialog(page: Page): Locator {
  return page.locator('.jp-Dialog.rtc-SharingDialog');
}

export async function closeDialog(page: Page): Promise<void> {
  // The dialog takes the keyboard focus once its body has rendered; Escape
  // is handled by the dialog, so wait for that first.
  await expect
    .poll(() => sharingDialog(page).evaluate(node => node.contains(document.activeElement)))
    .toBe(true);
  await page.keyboard.press('Escape');
  await expect(sharingDialog(page)).toHaveCount(0);
}

/** The background color of an element, as computed by the browser. */
export function backgroundColor(locator: Locator): Promise<string> {
  return locator.evaluate(el => getComputedStyle(el).backgroundColor);
}

/** Open a file of the server in JupyterLab through its URL. */
export async function openDocument(page: Page, owner: string, file: string): Promise<void> {
  // `?reset`: JupyterLab's workspace is kept on the server per user, so
  // another spec's layout (tabs, side panels) would come back otherwise.
  await page.goto(`${hubUrl()}user/${owner}/lab/tree/${file}?reset`);
  await waitForLab(page);
  await expect(notebookCells(page).first()).toBeVisible({ timeout: 60_000 });
}

export function notebookCells(page: Page): Locator {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
}

/** Type `text` on a new line at the end of cell `index`. */
export async function typeInCell(
  page: Page,
  index: number,
  text: string,
  options: { timeout?: number } = {}
): Promise<void> {
  const editor = notebookCells(page).nth(index).locator('.cm-content');
  await editor.click({ timeout: options.timeout });
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type(text);
}

/**
 * Press Tab until the focused element matches `accept`; fail if focus ever
 * leaves `within` (the dialog traps focus) or after `max` presses.
 */
export async function tabUntil(
  page: Page,
  within: Locator,
  accept: (el: { ariaLabel: string; text: string; tag: string }) => boolean,
  max = 40
): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const focused = await within.evaluate(root => {
      const el = document.activeElement as HTMLElement | null;
      return {
        inside: !!el && root.contains(el),
        ariaLabel: el?.getAttribute('aria-label') ?? '',
        text: el?.textContent ?? '',
        tag: el?.tagName ?? ''
      };
    });
    expect(focused.inside, 'focus stays inside the dialog').toBe(true);
    if (accept(focused)) {
      return;
    }
  }
  throw new Error(`no matching element reached with ${max} Tab presses`);
}

/**
 * Answer JupyterLab's "get notified about Jupyter news?" question once for the
 * owner's server (settings live on the server, so guests share them), so the
 * toast does not cover the screenshots. Reloads the page.
 */
export async function declineNews(page: Page, owner: string): Promise<void> {
  const url = `${hubUrl()}user/${owner}/lab/api/settings/@jupyterlab/apputils-extension:notification`;
  const status = await page.evaluate(async target => {
    const xsrf = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/)?.[1] ?? '';
    const response = await fetch(target, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/json',
        'X-XSRFToken': decodeURIComponent(xsrf)
      },
      body: JSON.stringify({ raw: '{"fetchNews": "false"}' })
    });
    return response.status;
  }, url);
  expect(status).toBe(204);
  await page.reload();
  await waitForLab(page);
}

/**
 * Accept an invite link again (after "Allow again"): the hub may or may not
 * ask for consent a second time, so the Authorize page is optional here.
 */
export async function acceptInviteAgain(
  page: Page,
  inviteUrl: string,
  owner: string
): Promise<void> {
  await page.goto(inviteUrl);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  const authorize = page.getByRole('button', { name: 'Authorize' });
  await expect(authorize.or(page.locator('#jp-main-dock-panel'))).toBeVisible({
    timeout: 120_000
  });
  if (await authorize.isVisible()) {
    await authorize.click();
  }
  await page.waitForURL(new RegExp(`/user/${owner}/lab`), { timeout: 120_000 });
  await waitForLab(page);
}

/** The "access ended" notice (revoked, or the owner stopped the server). */
export function accessEndedNotice(page: Page): Locator {
  return page.locator('.rtc-AccessEnded');
}

/** What one page sends and logs while it is watched. */
export interface ITraffic {
  /**
   * HTTP requests to the hub or the servers (not the page's own data: URLs),
   * as "METHOD URL (+ms since watching began)".
   */
  requests: string[];
  /** Websockets the page opened. */
  websockets: string[];
  /** Console errors and uncaught exceptions, with their time as in `requests`. */
  errors: string[];
  /** Stop watching; the lists keep what was seen. */
  stop(): void;
}

/** Start recording the requests, websockets and console errors of `page`. */
export function watchTraffic(page: Page): ITraffic {
  const start = Date.now();
  const traffic: ITraffic = {
    requests: [],
    websockets: [],
    errors: [],
    stop: () => {
      page.off('request', onRequest);
      page.off('websocket', onSocket);
      page.off('console', onConsole);
      page.off('pageerror', onError);
    }
  };
  const onRequest = (request: { url(): string; method(): string }) => {
    if (/^https?:/.test(request.url())) {
      const at = Date.now() - start;
      traffic.requests.push(`${request.method()} ${request.url()} (+${at} ms)`);
    }
  };
  const onSocket = (ws: { url(): string }) => traffic.websockets.push(ws.url());
  const onConsole = (message: { type(): string; text(): string }) => {
    if (message.type() === 'error') {
      traffic.errors.push(`${message.text()} (+${Date.now() - start} ms)`);
    }
  };
  const onError = (error: Error) =>
    traffic.errors.push(`uncaught: ${error.message} (+${Date.now() - start} ms)`);
  page.on('request', onRequest);
  page.on('websocket', onSocket);
  page.on('console', onConsole);
  page.on('pageerror', onError);
  return traffic;
}

/** Record every dialog of `page` (alert, confirm, beforeunload), accepting it. */
export function recordDialogs(page: Page): string[] {
  const seen: string[] = [];
  page.on('dialog', dialog => {
    seen.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.accept();
  });
  return seen;
}
