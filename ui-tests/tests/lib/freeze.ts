/**
 * Freeze a whole browser for a while (SIGSTOP, then SIGCONT), as a closed
 * laptop lid or a stalled machine does: the browser process, its renderers
 * and helpers, found both as its process group (Playwright starts the
 * browser detached, as a group leader) and by walking /proc for its
 * descendants (in case a helper left the group). The browser is started
 * with `launchServer`, whose `process()` gives its pid (`Browser` has no
 * `process()` any more).
 */
import * as fs from 'fs';

import { BrowserServer } from '@playwright/test';

/** Every descendant of `root`, read from /proc/<pid>/stat. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf-8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signal(pids: readonly number[], group: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-group, sig);
  } catch {
    // not a group leader: the pids below still get it
  }
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // exited
    }
  }
}

function browserPid(server: BrowserServer): number {
  const pid = server.process().pid;
  if (!pid) {
    throw new Error('the browser process has no pid (not started or already gone)');
  }
  return pid;
}

/** Stop the browser's processes for `ms` (a deliberate freeze), then resume them. */
export async function freezeBrowser(server: BrowserServer, ms: number): Promise<number> {
  const pid = browserPid(server);
  const pids = [pid, ...descendants(pid)];
  signal(pids, pid, 'SIGSTOP');
  try {
    await new Promise(resolve => setTimeout(resolve, ms));
  } finally {
    signal(pids, pid, 'SIGCONT');
  }
  return pids.length;
}

/** Resume a browser whatever happened (teardown). */
export function thawBrowser(server: BrowserServer): void {
  const pid = server.process().pid;
  if (pid) {
    signal([pid, ...descendants(pid)], pid, 'SIGCONT');
  }
}
