/**
 * People of the collaboration scenarios: who they are, through which URL
 * they reach the hub (the hub itself, or a forwarder whose network can be
 * cut), their browser context and pages, and the steps they take (log in,
 * accept a link, open the notebook).
 *
 * helpers.ts's `login`, `acceptInvite` and `openDocument` always use the
 * hub's own URL and a fixed consent flow; these take a base URL and accept
 * a hub that does or does not ask for consent again (a guest coming back
 * with a still-valid OAuth cookie goes straight to JupyterLab).
 */
import { BrowserContext, expect, Page } from '@playwright/test';

import { notebookCells, PASSWORD, waitForLab } from '../helpers';

export const DISPLAY_NAMES: Record<string, string> = {
  alice: 'Alice Martin',
  bob: 'Bob Dupont',
  carol: 'Carol Nguyen'
};

export interface IPage {
  /** "bob", or "bob#2" for a second tab. */
  name: string;
  user: string;
  page: Page;
}

export interface IPerson {
  user: string;
  /** The hub as this person reaches it, ending with "/". */
  base: string;
  context: BrowserContext;
  pages: IPage[];
}

/** The person's first tab. */
export function mainPage(person: IPerson): Page {
  return person.pages[0].page;
}

/** Log in through the hub's form at `person.base`; the owner lands in her JupyterLab. */
export async function logIn(person: IPerson, options: { owner: boolean }): Promise<void> {
  const page = mainPage(person);
  const prefix = new URL(person.base).pathname;
  const next = options.owner ? '' : `?next=${encodeURIComponent(`${prefix}hub/home`)}`;
  await page.goto(`${person.base}hub/login${next}`);
  await page.locator('#username_input').fill(person.user);
  await page.locator('#password_input').fill(PASSWORD);
  await page.locator('#login_submit').click();
  if (options.owner) {
    await page.waitForURL(new RegExp(`/user/${person.user}/lab`), { timeout: 180_000 });
    await waitForLab(page);
  } else {
    await page.waitForURL(/\/hub\/home/);
  }
}

/** Open an invite link, accept it, authorize if the hub asks, land in the owner's JupyterLab. */
export async function acceptLink(page: Page, link: string, owner: string): Promise<void> {
  await page.goto(link);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  const authorize = page.getByRole('button', { name: 'Authorize' });
  const lab = page.locator('#jp-main-dock-panel');
  await expect(authorize.or(lab)).toBeVisible({ timeout: 120_000 });
  if (await authorize.isVisible()) {
    await authorize.click();
  }
  await page.waitForURL(new RegExp(`/user/${owner}/lab`), { timeout: 120_000 });
  await waitForLab(page);
}

/** Open `file` of `owner`'s server in JupyterLab, at `base`. */
export async function openNotebook(
  page: Page,
  base: string,
  owner: string,
  file: string
): Promise<void> {
  // `?reset`: the workspace another spec left (tabs, side panels) stays out.
  await page.goto(`${base}user/${owner}/lab/tree/${file}?reset`);
  await waitForLab(page);
  await expect(notebookCells(page).first()).toBeVisible({ timeout: 60_000 });
}

/**
 * Dismiss JupyterLab's own "Server unavailable or unreachable" dialog, as a
 * person whose network just came back would; true when there was one.
 */
export async function dismissServerUnavailable(page: Page): Promise<boolean> {
  const dialog = page.locator('.jp-Dialog', { hasText: 'Server unavailable or unreachable' });
  if (!(await dialog.isVisible())) {
    return false;
  }
  await dialog.getByRole('button', { name: 'Dismiss' }).click();
  await expect(dialog).toHaveCount(0);
  return true;
}
