/**
 * Repeats what went wrong at the very end of the run.
 *
 * CI keeps only the tail of the log, and the list reporter ends with the
 * attachments of a failure (trace, screenshot paths), not with its error.
 * This reporter prints, after everything else, each failed test's title,
 * the error Playwright gave (the expectation and the line of the spec) and
 * the last warnings and errors of the demo hub's log (hub and servers),
 * the log first so that the failures are the very last lines.
 */
import * as fs from 'fs';
import * as path from 'path';

import type {
  FullResult,
  Reporter,
  TestCase,
  TestError,
  TestResult
} from '@playwright/test/reporter';

import { IDemoState, STATE_FILE } from './demo-state';

// Short: the tail CI keeps is about two dozen lines.
const ERROR_LINES = 14;
const LOG_LINES = 25;
// Tornado's and traitlets' log prefixes for warnings and errors, and tracebacks.
const NOTEWORTHY = /^\[[WEC] |Traceback|Error/;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function clip(text: string, lines: number): string {
  const all = text.replace(ANSI, '').split('\n');
  return all.length <= lines ? all.join('\n') : [...all.slice(0, lines), '  [...]'].join('\n');
}

function describe(error: TestError): string {
  return clip(error.stack ?? error.message ?? error.value ?? String(error), ERROR_LINES);
}

/** The demo's log: where globalSetup wrote it, or the copy globalTeardown keeps. */
function demoLog(): string {
  const candidates = [path.join(__dirname, 'test-results', 'demo.log')];
  try {
    candidates.unshift((JSON.parse(fs.readFileSync(STATE_FILE, 'utf-8')) as IDemoState).log);
  } catch {
    // teardown already removed the state file
  }
  for (const file of candidates) {
    try {
      return fs.readFileSync(file, 'utf-8');
    } catch {
      // try the next
    }
  }
  return '';
}

function demoLogWarnings(): string {
  const lines = demoLog()
    .replace(ANSI, '')
    .split('\n')
    .filter(line => NOTEWORTHY.test(line));
  return lines.length ? lines.slice(-LOG_LINES).join('\n') : '(none)';
}

export default class FailuresReporter implements Reporter {
  private readonly failed: { test: TestCase; result: TestResult }[] = [];

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status !== 'passed' && result.status !== 'skipped') {
      this.failed.push({ test, result });
    }
  }

  onEnd(result: FullResult): void {
    if (!this.failed.length) {
      return;
    }
    // The hub's log first and the failures last: CI's tail of the log then
    // ends with what failed and why, not with the hub's shutdown.
    const out: string[] = ['', `--- the demo's last warnings and errors`, demoLogWarnings()];
    out.push('', `=== ${this.failed.length} failed (run ${result.status}) ===`);
    for (const { test, result: run } of this.failed) {
      out.push('', `--- ${test.titlePath().filter(Boolean).join(' › ')} (${run.status})`);
      out.push(...run.errors.map(describe));
    }
    out.push('', `=== failed: ${this.failed.map(f => f.test.title).join(' | ')}`, '');
    process.stdout.write(out.join('\n'));
  }

  printsToStdio(): boolean {
    return false;
  }
}
