/**
 * Access levels in JupyterLab (issue 14), on the real demo hub in Chromium:
 * alice invites bob as a viewer; bob cannot type into a cell and is told
 * why; alice changes him to "can edit" live (no reload): he types and she
 * sees it; as an editor, the run button and Shift+Enter explain that his
 * access does not include running code, with no raw kernel error and no
 * kernel socket. Takes docs/screenshots/levels-dialog.png and
 * levels-banner.png.
 *
 * The steps depend on each other, so they run in order. Afterwards the hub
 * is left as a fresh one for the other specs (nobody shared, no link, bob's
 * consent to alice's server forgotten).
 */
import { expect, Locator, Page, test } from '@playwright/test';

import {
  closeDialog,
  declineNews,
  ISession,
  login,
  hubUrl,
  notebookCells,
  openSharingFromMenu,
  screenshotPath,
  watchTraffic,
  ITraffic
} from './helpers';
import { forgetAuthorizations } from './lib/hubapi';
import { sharingApi } from './lib/owner';
import { acceptLink, openNotebook } from './lib/people';

const OWNER = 'alice';
const NOTEBOOK = 'welcome.ipynb';
/** The code cell of the demo notebook meant for editing together. */
const CELL = 2;
/** Deadline for an edit to reach the other page, and for a level change to show. */
const DEADLINE = 20_000;

test.describe.configure({ mode: 'serial' });

function cellText(page: Page, index: number): Promise<string> {
  return notebookCells(page).nth(index).locator('.cm-content').innerText();
}

function banner(page: Page): Locator {
  return page.locator('.rtc-LevelBanner');
}

function toast(page: Page, text: string): Locator {
  return page.locator('.Toastify__toast', { hasText: text });
}

function runButton(page: Page): Locator {
  return page.locator(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar [data-command="notebook:run-cell-and-select-next"]'
  );
}

/** Type `text` at the end of cell `index` (the editor must have the focus first). */
async function typeAtEnd(page: Page, index: number, text: string): Promise<void> {
  await notebookCells(page).nth(index).locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}

test.describe('access levels in JupyterLab', () => {
  let alice: ISession;
  let bob: ISession;
  let bobTraffic: ITraffic | null = null;
  let inviteUrl = '';

  test.afterAll(async () => {
    bobTraffic?.stop();
    if (alice) {
      try {
        const page = alice.page;
        await sharingApi(page, hubUrl(), OWNER, 'DELETE', 'guests');
        await sharingApi(page, hubUrl(), OWNER, 'POST', 'guests/bob/allow');
        await sharingApi(page, hubUrl(), OWNER, 'DELETE', 'invites');
      } catch (error) {
        console.warn(`levels.spec cleanup: ${(error as Error).message}`);
      }
    }
    if (bob) {
      try {
        const hubPage = await bob.context.newPage();
        await forgetAuthorizations(hubPage, hubUrl(), 'bob', OWNER);
      } catch (error) {
        console.warn(`levels.spec cleanup of bob: ${(error as Error).message}`);
      }
    }
    for (const session of [alice, bob]) {
      await session?.context.close();
    }
  });

  test('the owner invites someone to view: one line per level, the level on the link', async ({
    browser
  }) => {
    alice = await login(browser, OWNER, { spawn: true });
    await declineNews(alice.page, OWNER);
    await openNotebook(alice.page, hubUrl(), OWNER, NOTEBOOK);
    // Links and shares other specs made on the same demo hub are not this
    // test's: bob's earlier "run" share would stay his level (a share keeps
    // the highest level it was given) when he accepts the view link.
    expect((await sharingApi(alice.page, hubUrl(), OWNER, 'DELETE', 'invites')).status).toBe(204);
    expect((await sharingApi(alice.page, hubUrl(), OWNER, 'DELETE', 'guests')).status).toBe(200);
    for (const user of ['bob', 'carol']) {
      // 204, or 404 when they were not revoked: either way they may come in.
      await sharingApi(alice.page, hubUrl(), OWNER, 'POST', `guests/${user}/allow`);
    }

    const dialog = await openSharingFromMenu(alice.page);
    const levels = dialog.locator('.rtc-Level');
    await expect(levels).toHaveCount(3);
    // Run is the default (today's behaviour); each level says what it allows.
    await expect(dialog.locator('.rtc-Level[data-access="run"] input')).toBeChecked();
    for (const level of ['view', 'edit', 'run']) {
      await expect(dialog.locator(`.rtc-Level[data-access="${level}"] .rtc-LevelText`)).not.toBeEmpty();
    }
    await expect(dialog.locator('.rtc-Level[data-access="view"] .rtc-LevelText')).toContainText(
      'without changing'
    );
    await expect(dialog.locator('select.rtc-AccessFor')).toHaveValue('');

    await dialog.locator('.rtc-Level[data-access="view"] input').check();
    await dialog.getByRole('button', { name: 'Generate link' }).click();
    await expect(dialog.locator('.rtc-LinkText')).toContainText('/hub/accept-share?code=');
    await expect(dialog.locator('.rtc-NewLinkAccess')).toContainText('can view');
    const row = dialog.locator('.rtc-Invites tbody tr');
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute('data-access', 'view');
    await expect(row.locator('.rtc-LinkAccess')).toHaveText('can view');

    const invites = await sharingApi(alice.page, hubUrl(), OWNER, 'GET', 'invites');
    expect(invites.status).toBe(200);
    const listed = (invites.body as { invites: { access?: string; access_for?: number | null }[] })
      .invites;
    expect(listed.map(i => [i.access, i.access_for])).toEqual([['view', null]]);
    inviteUrl = (await dialog.locator('.rtc-LinkText').innerText()).trim();
    await closeDialog(alice.page);
  });

  test('a viewer cannot type into a cell and sees why', async ({ browser }) => {
    bob = await login(browser, 'bob', { spawn: false });
    await acceptLink(bob.page, inviteUrl, OWNER);
    await expect(banner(bob.page)).toHaveAttribute('data-access', 'view');
    await expect(banner(bob.page)).toContainText(
      'View only: you can follow along but not change anything'
    );
    await openNotebook(bob.page, hubUrl(), OWNER, NOTEBOOK);
    bobTraffic = watchTraffic(bob.page);
    const badge = bob.page.locator('.rtc-Badge');
    await expect(badge).toHaveAttribute('title', /Your access: can view/);
    const editor = notebookCells(bob.page).nth(CELL).locator('.cm-editor');
    await expect(editor).toHaveClass(/jp-mod-readOnly/);

    const before = await cellText(bob.page, CELL);
    await typeAtEnd(bob.page, CELL, 'VIEWER-TRIED');
    await expect(toast(bob.page, 'Your access (view) does not include changing documents')).toBeVisible();
    expect(await cellText(bob.page, CELL)).toBe(before);

    // Alice's edit reaches him (the view is live), his keys never did.
    await typeAtEnd(alice.page, CELL, ' # OWNER-MARK');
    await expect
      .poll(() => cellText(bob.page, CELL), { timeout: DEADLINE })
      .toContain('OWNER-MARK');
    expect(await cellText(alice.page, CELL)).not.toContain('VIEWER-TRIED');
    expect(await cellText(bob.page, CELL)).not.toContain('VIEWER-TRIED');
    await bob.page.screenshot({ path: screenshotPath('levels-banner.png') });

    // Alice's panel names his level.
    const bobRow = alice.page.locator(
      '#rtc-presence-collaborators .rtc-CollaboratorRow[data-username="bob"]'
    );
    await alice.page.locator('.rtc-Badge').click();
    await expect(bobRow).toHaveAttribute('data-access', 'view');
    await expect(bobRow.locator('.rtc-LevelTag')).toHaveText('can view');
  });

  test('the owner changes him to edit live: he types and she sees it', async () => {
    const dialog = await openSharingFromMenu(alice.page);
    const person = dialog.locator('.rtc-Guests li[data-username="bob"]');
    await expect(person).toHaveAttribute('data-access', 'view');
    await expect(person.locator('.rtc-LevelTag')).toHaveText('can view');
    await alice.page
      .locator('.jp-Dialog-content')
      .screenshot({ path: screenshotPath('levels-dialog.png') });

    // A reload would lose this marker: the change must apply in place.
    await bob.page.evaluate(() => {
      (window as unknown as { levelsMarker: string }).levelsMarker = 'same page';
    });
    const changed = Date.now();
    await person.locator('select.rtc-LevelSelect').selectOption('edit');
    await expect(person).toHaveAttribute('data-access', 'edit');
    await expect(banner(bob.page)).toHaveAttribute('data-access', 'edit', { timeout: DEADLINE });
    console.log(`levels: view -> edit shown in bob's page after ${Date.now() - changed} ms`);
    await expect(banner(bob.page)).toContainText(
      'You can edit; running code is not included in your access'
    );
    expect(
      await bob.page.evaluate(() => (window as unknown as { levelsMarker?: string }).levelsMarker)
    ).toBe('same page');
    await expect(notebookCells(bob.page).nth(CELL).locator('.cm-editor')).not.toHaveClass(
      /jp-mod-readOnly/
    );

    await typeAtEnd(bob.page, CELL, ' # EDITOR-TYPED');
    await closeDialog(alice.page);
    await expect
      .poll(() => cellText(alice.page, CELL), { timeout: DEADLINE })
      .toContain('EDITOR-TYPED');
  });

  test('for an editor the run button explains itself, with no raw kernel error', async () => {
    const run = runButton(bob.page);
    await expect(run).toHaveAttribute('title', /Your access \(edit\) does not include running code/);
    await run.click();
    await expect(toast(bob.page, 'Your access (edit) does not include running code')).toBeVisible();
    // Shift+Enter in the cell says the same, once (no pile of toasts).
    await notebookCells(bob.page).nth(CELL).locator('.cm-content').click();
    await bob.page.keyboard.press('Shift+Enter');
    await expect(toast(bob.page, 'does not include running code')).toHaveCount(1);
    await expect(bob.page.locator('.jp-Dialog')).toHaveCount(0);
    // JupyterLab never tried a kernel for him: no kernel socket, no session POST.
    const traffic = bobTraffic!;
    expect(traffic.websockets.filter(url => url.includes('/api/kernels/'))).toEqual([]);
    expect(traffic.requests.filter(r => /^POST .*\/api\/sessions/.test(r))).toEqual([]);
  });
});
