/**
 * The whole sharing story on a real JupyterHub (rtc-presence demo), in three
 * browser contexts: alice (owner), bob and carol (guests).
 *
 * The steps depend on each other (bob needs alice's link), so the tests of
 * this file run in order and stop at the first failure.
 */
import { expect, test } from '@playwright/test';

import {
  acceptInvite,
  backgroundColor,
  closeDialog,
  declineNews,
  ISession,
  login,
  notebookCells,
  openDocument,
  openSharingFromMenu,
  screenshotPath,
  sharingDialog,
  tabUntil,
  typeInCell
} from './helpers';

const NOTEBOOK = 'welcome.ipynb';
/** The code cell of the demo notebook meant for editing together. */
const CELL = 2;

test.describe.configure({ mode: 'serial' });

test.describe('sharing a server with invite links', () => {
  let alice: ISession;
  let bob: ISession;
  let carol: ISession;
  let inviteUrl = '';
  let inviteId = '';

  test.afterAll(async () => {
    for (const session of [alice, bob, carol]) {
      await session?.context.close();
    }
  });

  test('the owner opens "User sharing", generates a link and copies it', async ({ browser }) => {
    alice = await login(browser, 'alice', { spawn: true });
    const page = alice.page;
    await declineNews(page, 'alice');

    await page.locator('#jp-MainMenu .lm-MenuBar-itemLabel', { hasText: 'User sharing' }).click();
    const item = page.locator('.lm-Menu-itemLabel', { hasText: 'Open user sharing menu' });
    await expect(item).toBeVisible();
    await page.screenshot({ path: screenshotPath('menu.png') });
    await item.click();

    const dialog = sharingDialog(page);
    await expect(dialog).toBeVisible();
    await expect(dialog.locator('.rtc-Warning')).toContainText(
      'can read every file on this server and run code'
    );
    // The default lifetime is one hour.
    await expect(dialog.locator('select.rtc-Lifetime')).toHaveValue('3600');

    await dialog.getByRole('button', { name: 'Generate link' }).click();
    const link = dialog.locator('.rtc-LinkText');
    await expect(link).toContainText('/hub/accept-share?code=');
    inviteUrl = (await link.textContent()) ?? '';
    expect(inviteUrl).toMatch(/^https?:\/\/.+\/hub\/accept-share\?code=.+/);

    // Expiry time and a live countdown (about an hour from now).
    const newLink = dialog.locator('.rtc-NewLink');
    await expect(newLink).toContainText('Expires at');
    const countdown = newLink.locator('.rtc-Countdown');
    await expect(countdown).toHaveText(/^in (59 min|1 h)/);
    const first = await countdown.textContent();
    await expect(countdown).not.toHaveText(first ?? '', { timeout: 5_000 });

    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await expect(dialog.getByRole('button', { name: 'Copy link' })).toHaveText('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(inviteUrl);

    // The link is listed as active, unused.
    inviteId = (await newLink.getAttribute('data-invite-id')) ?? '';
    const row = dialog.locator(`.rtc-Invites tr[data-invite-id="${inviteId}"]`);
    await expect(row.locator('.rtc-Uses')).toHaveText('0');
    await closeDialog(page);
  });

  test("a guest accepts the invitation, authorizes access and lands in the owner's JupyterLab", async ({
    browser
  }) => {
    expect(inviteUrl, 'needs the link of the previous test').not.toBe('');
    bob = await login(browser, 'bob', { spawn: false });
    await acceptInvite(bob.page, inviteUrl, 'alice');

    // The guest's dialog says whose server this is, without any management action.
    const dialog = await openSharingFromMenu(bob.page);
    await expect(dialog.locator('.rtc-Sharing-guest')).toContainText('Alice Martin');
    await expect(dialog).toContainText('The owner controls access');
    await expect(dialog.getByRole('button', { name: 'Generate link' })).toHaveCount(0);
    await expect(dialog.getByRole('button', { name: /Revoke/ })).toHaveCount(0);
    await closeDialog(bob.page);

    // The owner's link now counts one use.
    const ownerDialog = await openSharingFromMenu(alice.page);
    const row = ownerDialog.locator(`.rtc-Invites tr[data-invite-id="${inviteId}"]`);
    await expect(row.locator('.rtc-Uses')).toHaveText('1');
    await expect(ownerDialog.locator('.rtc-Guests .rtc-Person[data-username="bob"]')).toContainText(
      'Bob Dupont'
    );
    await closeDialog(alice.page);
  });

  test('owner and guest see each other in the badge and the panel, with the same initials and colors', async () => {
    const a = alice.page;
    const b = bob.page;
    await expect(a.locator('.rtc-Badge-me')).toHaveText('AM');
    await expect(b.locator('.rtc-Badge-me')).toHaveText('BD');
    const bobInAlice = a.locator('.rtc-Badge-others .rtc-Avatar[data-username="bob"]');
    const aliceInBob = b.locator('.rtc-Badge-others .rtc-Avatar[data-username="alice"]');
    await expect(bobInAlice).toHaveText('BD');
    await expect(aliceInBob).toHaveText('AM');
    // Same color for a person in every browser (the server decides it).
    const bobOwn = b.locator('.rtc-Badge-me .rtc-Avatar');
    const aliceOwn = a.locator('.rtc-Badge-me .rtc-Avatar');
    expect(await backgroundColor(bobInAlice)).toBe(await backgroundColor(bobOwn));
    expect(await backgroundColor(aliceInBob)).toBe(await backgroundColor(aliceOwn));
    expect(await backgroundColor(aliceOwn)).not.toBe(await backgroundColor(bobOwn));
    await expect(a.locator('.rtc-Badge')).toHaveAttribute('title', /Bob Dupont/);
    await expect(b.locator('.rtc-Badge')).toHaveAttribute('title', /Alice Martin/);

    // Exactly one user badge: jupyter-collaboration's user menu is disabled.
    await expect(a.locator('#jp-UserMenu')).toHaveCount(0);
    await expect(a.locator('.rtc-Badge')).toHaveCount(1);
    // ... and one collaborators panel.
    await expect(a.locator('#jp-collaboration-panel')).toHaveCount(0);

    // Clicking the badge opens the collaborators panel.
    for (const [page, other, name, initials, tag] of [
      [a, 'bob', 'Bob Dupont', 'BD', 'guest'],
      [b, 'alice', 'Alice Martin', 'AM', 'owner']
    ] as const) {
      await page.locator('.rtc-Badge').click();
      const panel = page.locator('#rtc-presence-collaborators');
      await expect(panel).toBeVisible();
      const row = panel.locator(`.rtc-CollaboratorRow[data-username="${other}"]`);
      await expect(row.locator('.rtc-Name')).toHaveText(name);
      await expect(row.locator('.rtc-Avatar')).toHaveText(initials);
      await expect(row.locator('.rtc-Tag')).toHaveText(tag);
    }
    const rowInAlice = a.locator(
      '#rtc-presence-collaborators .rtc-CollaboratorRow[data-username="bob"] .rtc-Avatar'
    );
    expect(await backgroundColor(rowInAlice)).toBe(await backgroundColor(bobOwn));
    // The owner may revoke guests from the panel; the guest sees no such button.
    await expect(
      a.locator('.rtc-CollaboratorRow[data-username="bob"] .rtc-RowRevoke')
    ).toBeVisible();
    await expect(b.locator('#rtc-presence-collaborators .rtc-RowRevoke')).toHaveCount(0);
  });

  test("the guest types into a notebook cell; the owner sees the text and the guest's named cursor", async () => {
    await openDocument(alice.page, 'alice', NOTEBOOK);
    await openDocument(bob.page, 'alice', NOTEBOOK);
    const text = `# bob was here ${Date.now()}`;
    await typeInCell(bob.page, CELL, text);
    await expect(notebookCells(alice.page).nth(CELL)).toContainText(text);

    // Bob's cursor carries his name in alice's view ...
    const flag = alice.page.locator('.jp-remote-userFlag', { hasText: 'Bob Dupont' });
    await expect(flag).toBeVisible();
    // ... and keeps it when he pauses (setting showCursorNames, default true):
    // jupyter-collaboration marks the flag idle, our CSS keeps it opaque.
    await expect(flag).toHaveClass(/jp-mod-idle/, { timeout: 15_000 });
    expect(await flag.evaluate(el => getComputedStyle(el).opacity)).toBe('1');

    // The panel says where bob is and what he is doing.
    await alice.page.locator('.rtc-Badge').click();
    const row = alice.page.locator(
      '#rtc-presence-collaborators .rtc-CollaboratorRow[data-username="bob"]'
    );
    await expect(row.locator('.rtc-Doc')).toHaveText(NOTEBOOK);
    await expect(row.locator('.rtc-Activity')).toHaveText(
      new RegExp(`editing (cell ${CELL + 1} of )?${NOTEBOOK.replace('.', '\\.')}`)
    );
    await expect(row.locator('.rtc-Activity')).toHaveText(
      `editing cell ${CELL + 1} of ${NOTEBOOK}`
    );

    // Clicking bob's row brings alice to his cursor's cell.
    await notebookCells(alice.page).first().click();
    await expect(notebookCells(alice.page).first()).toHaveClass(/jp-mod-active/);
    await row.locator('.rtc-PersonMain').click();
    await expect(notebookCells(alice.page).nth(CELL)).toHaveClass(/jp-mod-active/);
  });

  test("a second guest joins; the owner's dialog lists both, live", async ({ browser }) => {
    const dialog = await openSharingFromMenu(alice.page);
    await dialog.getByRole('button', { name: 'Generate link' }).click();
    await expect(dialog.locator('.rtc-LinkText')).toContainText('/hub/accept-share?code=');
    const secondLink = (await dialog.locator('.rtc-LinkText').textContent()) ?? '';

    carol = await login(browser, 'carol', { spawn: false });
    await acceptInvite(carol.page, secondLink, 'alice');
    // The dialog stayed open: it updates from the presence stream.
    const guests = dialog.locator('.rtc-Guests .rtc-Person');
    await expect(guests).toHaveCount(2);
    await expect(dialog.locator('.rtc-Guests .rtc-Person[data-username="carol"]')).toContainText(
      'Carol Nguyen'
    );
    await expect(
      dialog.locator('.rtc-Guests .rtc-Person[data-username="carol"] .rtc-Online')
    ).toBeVisible();
    await alice.page
      .locator('.jp-Dialog-content')
      .screenshot({ path: screenshotPath('dialog.png') });
    await closeDialog(alice.page);

    await openDocument(carol.page, 'alice', NOTEBOOK);
    await expect(
      alice.page.locator('.rtc-Badge-others .rtc-Avatar[data-username="carol"]')
    ).toHaveText('CN');
    await alice.page.locator('.rtc-Badge').click();
    await expect(
      alice.page.locator('#rtc-presence-collaborators .rtc-CollaboratorRow')
    ).toHaveCount(3);
    await alice.page.locator('.rtc-BadgeWidget').screenshot({ path: screenshotPath('badge.png') });
    await alice.page
      .locator('#rtc-presence-collaborators .rtc-Panel')
      .screenshot({ path: screenshotPath('panel.png') });
  });

  test('keyboard only: open the dialog, generate, copy and revoke a link, close with Escape', async () => {
    const page = alice.page;
    // Ctrl+Shift+C opens the command palette (pressed again if JupyterLab
    // was still busy restoring the notebook and missed it).
    const paletteInput = page.locator('#command-palette input');
    await expect(async () => {
      await page.keyboard.press('Control+Shift+C');
      await expect(paletteInput).toBeFocused({ timeout: 2_000 });
    }).toPass({ timeout: 30_000 });
    await page.keyboard.type('Open user sharing menu');
    await page.keyboard.press('Enter');
    const dialog = sharingDialog(page);
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('button', { name: 'Generate link' })).toBeVisible();

    await tabUntil(page, dialog, el => el.ariaLabel === 'Generate link');
    await page.keyboard.press('Enter');
    const newLink = dialog.locator('.rtc-NewLink');
    await expect(newLink).toBeVisible();
    const id = await newLink.getAttribute('data-invite-id');
    expect(id).toBeTruthy();

    await tabUntil(page, dialog, el => el.ariaLabel === 'Copy link');
    await page.keyboard.press('Enter');
    await expect(dialog.getByRole('button', { name: 'Copy link' })).toHaveText('Copied');

    await tabUntil(page, dialog, el => el.ariaLabel === `Revoke link ${id}`);
    await page.keyboard.press('Enter');
    await expect(dialog.locator(`.rtc-Invites tr[data-invite-id="${id}"]`)).toHaveCount(0);
    // Focus stayed in the dialog after the row went away.
    expect(await dialog.evaluate(root => root.contains(document.activeElement))).toBe(true);

    // Inline confirmation by keyboard: ask, then cancel with the keyboard.
    await tabUntil(page, dialog, el => el.ariaLabel === 'Revoke all share links');
    await page.keyboard.press('Enter');
    await expect(
      dialog.getByRole('button', { name: 'Confirm: Revoke all share links' })
    ).toBeFocused();
    await tabUntil(page, dialog, el => el.ariaLabel === 'Cancel');
    await page.keyboard.press('Enter');
    await expect(dialog.getByRole('button', { name: 'Revoke all share links' })).toBeFocused();

    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
  });

  test('the owner revokes a guest: within 1 s the guest is told, and his edits stop reaching the owner', async () => {
    const dialog = await openSharingFromMenu(alice.page);
    const bobRow = dialog.locator('.rtc-Guests .rtc-Person[data-username="bob"]');
    await bobRow.getByRole('button', { name: 'Revoke access for Bob Dupont' }).click();
    const confirm = bobRow.getByRole('button', { name: 'Confirm: Revoke access for Bob Dupont' });
    await expect(confirm).toBeVisible();

    // Time stamps taken in the two pages (same machine, same clock): when
    // alice clicks, and when bob's notice is added to his page.
    await bob.page.evaluate(() => {
      const observer = new MutationObserver(() => {
        if (document.getElementById('rtc-presence-revoked')) {
          (window as unknown as { rtcNoticeAt: number }).rtcNoticeAt = Date.now();
          observer.disconnect();
        }
      });
      observer.observe(document.body, { childList: true });
    });
    await confirm.evaluate(button =>
      button.addEventListener('click', () => {
        (window as unknown as { rtcClickAt: number }).rtcClickAt = Date.now();
      })
    );
    const notice = bob.page.locator('#rtc-presence-revoked');
    await confirm.click();
    await expect(notice).toBeVisible({ timeout: 1_000 });
    const clickAt = await alice.page.evaluate(
      () => (window as unknown as { rtcClickAt: number }).rtcClickAt
    );
    const noticeAt = await bob.page.evaluate(
      () => (window as unknown as { rtcNoticeAt: number }).rtcNoticeAt
    );
    console.log(`revocation notice shown ${noticeAt - clickAt} ms after the click`);
    expect(noticeAt - clickAt).toBeLessThan(1_000);
    await expect(notice).toContainText('Your access to this server was revoked by its owner');

    // The dialog moves bob to "People revoked", with "Allow again".
    await expect(dialog.locator('.rtc-Revoked .rtc-Person[data-username="bob"]')).toBeVisible();
    await expect(dialog.locator('.rtc-Guests .rtc-Person[data-username="bob"]')).toHaveCount(0);
    const revokedRow = dialog.locator('.rtc-Revoked .rtc-Person[data-username="bob"]');
    await expect(revokedRow.getByRole('button', { name: /^Allow .+ again$/ })).toBeVisible();
    await closeDialog(alice.page);
    await expect(
      alice.page.locator('.rtc-Badge-others .rtc-Avatar[data-username="bob"]')
    ).toHaveCount(0);

    // Bob ignores the notice (removes it) and keeps typing: nothing reaches
    // alice. JupyterLab itself may pop up its own dialog when the kernel
    // connection is refused (Escape dismisses it), so each attempt types a
    // new line and checks that it landed in bob's own copy.
    await bob.page.evaluate(() => document.getElementById('rtc-presence-revoked')?.remove());
    const lost: string[] = [];
    await expect(async () => {
      await bob.page.keyboard.press('Escape');
      const line = `# after revocation ${Date.now()}`;
      lost.push(line);
      await typeInCell(bob.page, CELL, line, { timeout: 3_000 });
      await expect(notebookCells(bob.page).nth(CELL)).toContainText(line, { timeout: 3_000 });
    }).toPass({ timeout: 60_000 });
    // Carol, still a guest, edits after him; once her edit has reached alice,
    // bob's (earlier) edits would have too if his connection still worked.
    const control = `# carol still here ${Date.now()}`;
    await typeInCell(carol.page, CELL, control);
    const aliceCell = notebookCells(alice.page).nth(CELL);
    await expect(aliceCell).toContainText(control);
    for (const line of lost) {
      await expect(aliceCell).not.toContainText(line, { timeout: 1 });
    }

    // The owner can also revoke from the collaborators panel (with a
    // confirmation dialog): carol is told at once as well.
    await alice.page.locator('.rtc-Badge').click();
    const carolRow = alice.page.locator(
      '#rtc-presence-collaborators .rtc-CollaboratorRow[data-username="carol"]'
    );
    await carolRow.getByRole('button', { name: 'Revoke access for Carol Nguyen' }).click();
    const confirmDialog = alice.page.locator('.jp-Dialog', {
      hasText: 'Revoke access for Carol Nguyen (carol)?'
    });
    await confirmDialog.getByRole('button', { name: 'Revoke access for Carol Nguyen' }).click();
    await expect(carol.page.locator('#rtc-presence-revoked')).toBeVisible({ timeout: 1_000 });
    await expect(carolRow).toHaveCount(0);

    // "Allow again" lifts the server's refusal (bob would need a new link).
    const again = await openSharingFromMenu(alice.page);
    const row = again.locator('.rtc-Revoked .rtc-Person[data-username="bob"]');
    await row.getByRole('button', { name: /^Allow .+ again$/ }).click();
    await expect(row).toHaveCount(0);
    await closeDialog(alice.page);
  });
});
