// The report as a reader sees it: opened in Debian's Chromium (through playwright-core), it loads
// without console errors, requests nothing outside the file, and every chart renders with a size.
// Skipped when /usr/bin/chromium is absent (bash scripts/setup.sh --browser installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../src/report/html.js';
import { checkReportInBrowser, CHROMIUM } from '../scripts/check-report-browser.js';
import { makeExperimentFolder, makeImageFolder } from './report-fixtures.js';

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (bash scripts/setup.sh --browser installs Debian's chromium)`;

test('an experiment report renders in Chromium: no console errors, no requests, charts with a size', {
  skip,
  timeout: 120_000,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'low-report-browser-'));
  try {
    const data = await makeImageFolder(join(root, 'data'));
    const dir = join(root, 'exp');
    await makeExperimentFolder(dir, data);
    const out = join(root, 'report.html');
    const report = await writeReport(dir, out, { top: 8, perClass: 3 });
    const screenshot = join(root, 'report.png');
    const r = await checkReportInBrowser(out, { screenshot });
    assert.deepEqual(r.failures, []);
    assert.equal(r.charts, report.charts.length);
    assert.ok(r.images > 0, 'the galleries embed images');
    assert.equal(r.brokenImages, 0);
    assert.match(r.title, /^Experiment: /);
    assert.deepEqual(readFileSync(screenshot).subarray(0, 4), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
