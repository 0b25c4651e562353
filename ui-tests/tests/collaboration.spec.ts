/**
 * Collaboration that survives ordinary life (issue 11, the awareness storm):
 * owner alice and guests bob and carol, stock JupyterLab in real Chromium on
 * the demo hub, all on one notebook. Five triggers: a second tab, a frozen
 * browser, a cut network, a revocation and "Allow again", a restart of the
 * owner's server. After each, for a deliberate window of WINDOW_MS: no
 * connection closed by the server (except ping timeouts of the stalled
 * person), at most a handful of "forged" log lines, no join/leave toast
 * beyond the real joins and leaves, the right collaborators panel, and an
 * edit from every page reaching every other page. One figures line per
 * scenario is printed (`storm[...]: ...`).
 *
 * bob runs in a browser of his own (so that it can be frozen); carol
 * reaches the hub through a proxy of her own (so that her network can be cut).
 * The scenarios share these sessions and run in order; a failed scenario
 * restarts the worker (Playwright's default mode), whose beforeAll logs
 * everyone in again, so each scenario still starts calm.
 */
import { Browser, BrowserServer, chromium, expect, test } from '@playwright/test';

import { declineNews, hubUrl, notebookCells } from './helpers';
import { DemoLog } from './lib/demolog';
import { editRound } from './lib/edits';
import { Forwarder } from './lib/forwarder';
import { forgetAuthorizations } from './lib/hubapi';
import { freezeBrowser, thawBrowser } from './lib/freeze';
import { IExpectations, Observation } from './lib/observation';
import { newInvite, presence, restartServer, sharingApi } from './lib/owner';
import { expectPanel } from './lib/panel';
import {
  acceptLink,
  dismissServerUnavailable,
  DISPLAY_NAMES,
  IPage,
  IPerson,
  logIn,
  mainPage,
  openNotebook
} from './lib/people';
import { SocketMonitor } from './lib/sockets';
import { ToastLog } from './lib/toasts';

const OWNER = 'alice';
const NOTEBOOK = 'welcome.ipynb';
/** The code cell of the demo notebook meant for editing together. */
const CELL = 2;
/** The deliberate observation window after each trigger (issue 11: at least 45 s). */
const WINDOW_MS = 45_000;
/** How long bob's browser stays frozen, and carol's network cut. */
const FREEZE_MS = 6_000;
const CUT_MS = 8_000;
/** Deadline for one edit to reach every other page. */
const EDIT_DEADLINE_MS = 20_000;
const MAX_FORGED_LINES = 5;
const EVERYONE = ['alice', 'bob', 'carol'];

let log: DemoLog;
let forwarder: Forwarder;
let guestServer: BrowserServer;
let guestBrowser: Browser;
let alice: IPerson;
let bob: IPerson;
let carol: IPerson;
let firstLink = '';
const toasts = new ToastLog();
const sockets = new SocketMonitor();

async function person(
  browser: Browser,
  user: string,
  base: string,
  proxy?: Forwarder
): Promise<IPerson> {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    proxy: proxy ? { server: proxy.server } : undefined
  });
  const who: IPerson = { user, base, context, pages: [] };
  await toasts.attach(context, page => who.pages.find(p => p.page === page)?.name ?? user);
  await newTab(who, user);
  return who;
}

async function newTab(who: IPerson, name: string): Promise<IPage> {
  const page = await who.context.newPage();
  sockets.attach(page, name);
  const tab = { name, user: who.user, page };
  who.pages.push(tab);
  return tab;
}

function allPages(): IPage[] {
  return [alice, bob, carol].flatMap(p => p.pages);
}

/**
 * A guest opens an invite link (through their own way to the hub) that
 * leads straight to the notebook (the hub's accept page honours `next`):
 * one page load, so one real join.
 */
async function join(guest: IPerson, link: string): Promise<void> {
  const url = new URL(link);
  const prefix = new URL(guest.base).pathname;
  url.searchParams.set('next', `${prefix}user/${OWNER}/lab/tree/${NOTEBOOK}`);
  await acceptLink(mainPage(guest), url.toString(), OWNER);
  await expect(notebookCells(mainPage(guest)).first()).toBeVisible({ timeout: 60_000 });
}

function observation(label: string, expected: Partial<IExpectations>): Observation {
  return new Observation(
    label,
    {
      stalled: [],
      realJoins: {},
      realLeaves: {},
      stable: [],
      maxForgedLines: MAX_FORGED_LINES,
      ...expected
    },
    log,
    toasts,
    sockets,
    DISPLAY_NAMES
  );
}

/** Edits both ways and the panel of every page, recorded in the observation. */
async function checkCollaboration(obs: Observation, round: string): Promise<void> {
  // JupyterLab itself asks "Server unavailable or unreachable" when its
  // requests failed during a stall: the stalled person dismisses it (counted
  // in the figures); anyone else seeing it is a failure.
  const prepare = async (writer: IPage) => {
    if (await dismissServerUnavailable(writer.page)) {
      obs.serverDialogs.set(writer.name, (obs.serverDialogs.get(writer.name) ?? 0) + 1);
      if (!obs.expectations.stalled.includes(writer.user)) {
        obs.errors.push(`${writer.name} was told the server is unavailable`);
      }
    }
  };
  await obs.attempt(`edits (${round})`, async () => {
    obs.deliveries.push(
      ...(await editRound(allPages(), CELL, `${obs.label} ${round}`, EDIT_DEADLINE_MS, prepare))
    );
  });
  for (const tab of allPages()) {
    await obs.attempt(`panel of ${tab.name} (${round})`, () =>
      expectPanel(tab.page, EVERYONE, NOTEBOOK)
    );
  }
}

/** The end of a scenario: figures printed and attached, then every expectation checked. */
async function conclude(obs: Observation): Promise<void> {
  await obs.attempt('presence list', async () => {
    obs.presenceAfter = await presence(mainPage(alice), alice.base, OWNER);
  });
  const line = obs.summary();
  console.log(line);
  test.info().annotations.push({ type: 'figures', description: line });
  const problems = obs.problems();
  for (const problem of problems.slice(0, 20)) {
    console.log(`  ${problem}`);
  }
  expect(problems, line).toEqual([]);
}

async function calmStart(obs: Observation): Promise<void> {
  obs.presenceBefore = await presence(mainPage(alice), alice.base, OWNER);
}

test.beforeAll(async ({ browser }, testInfo) => {
  testInfo.setTimeout(300_000);
  log = DemoLog.fromEnv();
  const hub = hubUrl();
  forwarder = new Forwarder();
  await forwarder.start();
  // bob's own browser, launched like Playwright's (playwright.config.ts),
  // as a server: its process can then be frozen.
  guestServer = await chromium.launchServer(testInfo.project.use.launchOptions);
  guestBrowser = await chromium.connect(guestServer.wsEndpoint());

  alice = await person(browser, 'alice', hub);
  bob = await person(guestBrowser, 'bob', hub);
  carol = await person(browser, 'carol', hub, forwarder);

  // Three people arriving is already a trigger (it started the storm before
  // the fix): its figures are printed, not asserted (the scenarios assert).
  const arrival = observation('setup: three people join', {
    realJoins: { bob: 1, carol: 1 }
  });
  await logIn(alice, { owner: true });
  await declineNews(mainPage(alice), OWNER);
  // The servers' lines reach the demo log (spawner children inherit the
  // hub's stdout/stderr): without them nothing below could be counted.
  await expect
    .poll(() => log.hasServerLines(), {
      message: `single-user server log lines in ${log.path}`
    })
    .toBe(true);

  firstLink = await newInvite(mainPage(alice), alice.base, OWNER);
  await logIn(bob, { owner: false });
  await logIn(carol, { owner: false });
  await openNotebook(mainPage(alice), alice.base, OWNER, NOTEBOOK);
  await join(bob, firstLink);
  await join(carol, firstLink);
  // carol's session runs through her proxy: pages and websockets.
  expect(forwarder.requests).toBeGreaterThan(0);
  expect(forwarder.tunnels).toBeGreaterThan(0);
  for (const tab of allPages()) {
    await expectPanel(tab.page, EVERYONE, NOTEBOOK, 60_000);
  }
  console.log(arrival.summary());
});

test.afterAll(async () => {
  if (guestServer) {
    thawBrowser(guestServer);
  }
  // Leave the hub as a fresh one for the other specs: nobody shared on
  // alice's server, nobody refused, no link, and the guests' consent to her
  // server forgotten (the hub skips its consent page for a client a person
  // already has tokens for; helpers.acceptInvite expects it on a fresh hub).
  if (alice) {
    try {
      const page = mainPage(alice);
      await sharingApi(page, alice.base, OWNER, 'DELETE', 'guests');
      for (const guest of ['bob', 'carol']) {
        await sharingApi(page, alice.base, OWNER, 'POST', `guests/${guest}/allow`);
      }
      await sharingApi(page, alice.base, OWNER, 'DELETE', 'invites');
    } catch (error) {
      console.warn(`collaboration.spec cleanup: ${(error as Error).message}`);
    }
  }
  for (const guest of [bob, carol].filter(Boolean)) {
    try {
      const hubPage = await guest.context.newPage();
      await forgetAuthorizations(hubPage, guest.base, guest.user, OWNER);
    } catch (error) {
      console.warn(`collaboration.spec cleanup of ${guest.user}: ${(error as Error).message}`);
    }
  }
  for (const who of [alice, bob, carol]) {
    await who?.context.close();
  }
  await guestBrowser?.close();
  await guestServer?.close();
  await forwarder?.stop();
});

test('a. a guest opens a second tab on the same notebook, then closes it', async () => {
  test.setTimeout(180_000);
  const obs = observation('a two tabs', { stable: EVERYONE });
  await calmStart(obs);
  const second = await newTab(bob, 'bob#2');
  await openNotebook(second.page, bob.base, OWNER, NOTEBOOK);
  obs.settled();
  await checkCollaboration(obs, 'two tabs');
  // Half way, the extra tab closes (the storm used to go on after that).
  await obs.holdUntil(WINDOW_MS / 2);
  bob.pages.splice(bob.pages.indexOf(second), 1);
  await second.page.close();
  await obs.holdUntil(WINDOW_MS);
  await checkCollaboration(obs, 'tab closed');
  await conclude(obs);
});

test("b. a guest's browser is frozen for 6 s, then resumed", async () => {
  test.setTimeout(180_000);
  const obs = observation('b frozen browser', {
    stalled: ['bob'],
    realJoins: { bob: 1 },
    realLeaves: { bob: 1 },
    stable: ['alice', 'carol']
  });
  await calmStart(obs);
  const frozen = await freezeBrowser(guestServer, FREEZE_MS);
  expect(frozen).toBeGreaterThan(1); // the browser and its renderers
  obs.settled();
  await checkCollaboration(obs, 'resumed');
  await obs.holdUntil(WINDOW_MS);
  await checkCollaboration(obs, 'end');
  await conclude(obs);
});

test("c. a guest's network is cut for 8 s, then restored", async () => {
  test.setTimeout(180_000);
  const obs = observation('c network cut', {
    stalled: ['carol'],
    realJoins: { carol: 1 },
    realLeaves: { carol: 1 },
    stable: ['alice', 'bob']
  });
  await calmStart(obs);
  const reset = forwarder.cut();
  expect(reset).toBeGreaterThan(0); // her open connections went down
  await new Promise(resolve => setTimeout(resolve, CUT_MS)); // the deliberate outage
  forwarder.restore();
  obs.settled();
  await checkCollaboration(obs, 'restored');
  await obs.holdUntil(WINDOW_MS);
  await checkCollaboration(obs, 'end');
  await conclude(obs);
});

test('d. a guest is revoked, allowed again, and opens the link again', async () => {
  test.setTimeout(180_000);
  const obs = observation('d revoked and back', {
    realJoins: { bob: 1 },
    realLeaves: { bob: 1 },
    stable: ['alice', 'carol']
  });
  await calmStart(obs);
  const page = mainPage(alice);
  const revoked = await sharingApi(page, alice.base, OWNER, 'DELETE', 'guests/bob');
  expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
  await expect(mainPage(bob).locator('#rtc-presence-revoked')).toBeVisible({ timeout: 5_000 });
  const allowed = await sharingApi(page, alice.base, OWNER, 'POST', 'guests/bob/allow');
  expect(allowed.status, JSON.stringify(allowed.body)).toBe(204);
  // The link he was invited with is still active (multi-use until it expires).
  await join(bob, firstLink);
  obs.settled();
  await checkCollaboration(obs, 'back');
  await obs.holdUntil(WINDOW_MS);
  await checkCollaboration(obs, 'end');
  expect(obs.logFigures().evictions).toEqual(['bob']);
  await conclude(obs);
});

test("e. the owner's server is restarted with both guests present", async () => {
  test.setTimeout(240_000);
  // Stopping a server revokes every share and link (rtc_presence.hub), so
  // the guests come back the way people would: alice restarts her server
  // from the hub, reloads her JupyterLab and sends a new link; each guest,
  // whose tab has lost access, opens it in that same tab.
  const obs = observation('e server restarted', {
    realJoins: { alice: 1, bob: 1, carol: 1 },
    realLeaves: { alice: 1, bob: 1, carol: 1 }
  });
  const hubPage = await alice.context.newPage();
  await restartServer(hubPage, alice.base, OWNER);
  await hubPage.close();
  await openNotebook(mainPage(alice), alice.base, OWNER, NOTEBOOK);
  const link = await newInvite(mainPage(alice), alice.base, OWNER);
  await join(bob, link);
  await join(carol, link);
  obs.settled();
  await checkCollaboration(obs, 'back');
  await obs.holdUntil(WINDOW_MS);
  await checkCollaboration(obs, 'end');
  await conclude(obs);
});
