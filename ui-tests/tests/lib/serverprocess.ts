/**
 * A person's single-user server as a process of this machine: found by the
 * public URL JupyterHub gives it (`JUPYTERHUB_PUBLIC_URL` in its
 * environment, so a server of another hub on the machine never matches),
 * its home (the spawner starts it there) and a SIGKILL, as a crash would.
 */
import * as fs from 'fs';

import { expect } from '@playwright/test';

export interface IServerProcess {
  pid: number;
  /** The server's working directory: the user's home, its contents root. */
  home: string;
}

function environ(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Running and not a zombie (the hub reaps its child only when it polls it). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The `jupyterhub-singleuser` processes serving `serverUrl` (e.g.
 * `http://127.0.0.1:8000/user/alice/`). Its kernels and terminals inherit
 * the same environment, so the command line decides.
 */
export function serverPids(serverUrl: string): number[] {
  const needle = `JUPYTERHUB_PUBLIC_URL=${serverUrl}`;
  return fs
    .readdirSync('/proc')
    .filter(name => /^\d+$/.test(name))
    .map(Number)
    .filter(pid => pid !== process.pid && alive(pid))
    .filter(pid => environ(pid).includes(needle))
    .filter(pid => /jupyterhub-singleuser/.test(cmdline(pid)));
}

/** The one server process for `serverUrl`, and its home. */
export function findServer(serverUrl: string): IServerProcess {
  const pids = serverPids(serverUrl);
  expect(pids, `one jupyterhub-singleuser process for ${serverUrl}`).toHaveLength(1);
  const pid = pids[0];
  return { pid, home: fs.readlinkSync(`/proc/${pid}/cwd`) };
}

/** SIGKILL the server (no shutdown hook runs) and wait until it is gone. */
export async function killServer(server: IServerProcess): Promise<void> {
  process.kill(server.pid, 'SIGKILL');
  await expect
    .poll(() => alive(server.pid), {
      timeout: 15_000,
      intervals: [50],
      message: `server process ${server.pid} gone after SIGKILL`
    })
    .toBe(false);
}
