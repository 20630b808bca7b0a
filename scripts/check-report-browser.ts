// node --import tsx scripts/check-report-browser.ts <report.html> [--screenshot out.png] [--full-page] [--width 1366] [--height 900]
//
// Opens a report made by `low report` in Debian's Chromium (/usr/bin/chromium, driven by
// playwright-core; playwright's own browser download is not used) and checks that it works as a
// reader sees it: the page loads without console errors, makes no request other than file: and
// data: URLs, every chart is an <svg> with a non-zero size, and every embedded image decodes.
// Saves a screenshot. Exit code 0 when every check passes, 1 otherwise.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserCheckOptions {
  screenshot?: string;
  fullPage?: boolean;
  width?: number;
  height?: number;
}

export interface BrowserCheck {
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests to anything but file: and data: URLs (a self-contained report makes none). */
  externalRequests: string[];
  /** Charts (<svg> elements in figures) and how many of them have a zero width or height. */
  charts: number;
  emptyCharts: string[];
  /** Images embedded in the charts, and those that fail to decode. */
  images: number;
  brokenImages: number;
  title: string;
  /** Everything that failed, as messages; empty when the report passes. */
  failures: string[];
}

export async function checkReportInBrowser(file: string, o: BrowserCheckOptions = {}): Promise<BrowserCheck> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium, or bash scripts/setup.sh --browser)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: o.width ?? 1366, height: o.height ?? 900 } });
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const externalRequests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith('file:') && !url.startsWith('data:')) externalRequests.push(url);
    });
    await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
    const title = await page.title();
    // Closed <details> (per-class galleries) have no layout: open them to measure every chart.
    const measured = await page.evaluate(async () => {
      const closed = [...document.querySelectorAll('details')].filter((d) => !d.open);
      closed.forEach((d) => (d.open = true));
      const svgs = [...document.querySelectorAll('figure svg')];
      const empty = svgs
        .filter((s) => {
          const r = s.getBoundingClientRect();
          return !(r.width > 0 && r.height > 0);
        })
        .map((s) => s.closest('figure')?.id || '(figure without id)');
      const hrefs = [...document.querySelectorAll('svg image')].map((i) => i.getAttribute('href') ?? i.getAttribute('xlink:href') ?? '');
      let broken = 0;
      for (const href of hrefs) {
        const img = new Image();
        img.src = href;
        try {
          await img.decode();
          if (!(img.naturalWidth > 0)) broken++;
        } catch {
          broken++;
        }
      }
      closed.forEach((d) => (d.open = false));
      return { charts: svgs.length, empty, images: hrefs.length, broken };
    });
    if (o.screenshot) await page.screenshot({ path: o.screenshot, fullPage: o.fullPage ?? false });
    const failures: string[] = [];
    if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join(' | ')}`);
    if (pageErrors.length) failures.push(`page errors: ${pageErrors.join(' | ')}`);
    if (externalRequests.length) failures.push(`requests outside the file: ${externalRequests.join(', ')}`);
    if (measured.charts === 0) failures.push('no chart (figure svg) on the page');
    if (measured.empty.length) failures.push(`charts with zero size: ${measured.empty.join(', ')}`);
    if (measured.broken) failures.push(`${measured.broken} of ${measured.images} embedded images do not decode`);
    return {
      consoleErrors,
      pageErrors,
      externalRequests,
      charts: measured.charts,
      emptyCharts: measured.empty,
      images: measured.images,
      brokenImages: measured.broken,
      title,
      failures,
    };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flagValue = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const file = args.find((a, i) => !a.startsWith('--') && !['--screenshot', '--width', '--height'].includes(args[i - 1] ?? ''));
  if (!file) {
    console.error(
      'usage: node --import tsx scripts/check-report-browser.ts <report.html> ' +
        '[--screenshot out.png] [--full-page] [--width 1366] [--height 900]',
    );
    process.exit(2);
  }
  const screenshot = flagValue('--screenshot') ?? `${file.replace(/\.html?$/, '')}.png`;
  const r = await checkReportInBrowser(file, {
    screenshot,
    fullPage: args.includes('--full-page'),
    width: flagValue('--width') ? Number(flagValue('--width')) : undefined,
    height: flagValue('--height') ? Number(flagValue('--height')) : undefined,
  });
  console.log(
    `"${r.title}": ${r.charts} charts (${r.emptyCharts.length} with zero size), ` +
      `${r.images} embedded images (${r.brokenImages} broken), ` +
      `${r.consoleErrors.length + r.pageErrors.length} console/page errors, ${r.externalRequests.length} external requests`,
  );
  console.log(`screenshot: ${screenshot}`);
  if (r.failures.length) {
    for (const f of r.failures) console.error(`FAIL: ${f}`);
    process.exit(1);
  }
  console.log('OK');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
