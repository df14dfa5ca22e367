/**
 * PDF: the HTML report printed by headless Chromium (playwright-core drives
 * an installed Chromium; it downloads no browser). The page has no script
 * and loads nothing: the HTML is set as the page's content.
 */
import { existsSync } from 'node:fs';

/** Where Chromium is looked for: PORTCULLIS_CHROMIUM, else Debian's package. */
export function chromiumPath(): string {
  return process.env.PORTCULLIS_CHROMIUM ?? '/usr/bin/chromium';
}

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function printPdf(html: string, executablePath = chromiumPath()): Promise<Buffer> {
  if (!existsSync(executablePath)) throw new Error(`PDF needs Chromium: none at ${executablePath} (install the chromium package or set PORTCULLIS_CHROMIUM)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless: true, args: ARGS });
  try {
    const page = await browser.newPage({ javaScriptEnabled: false });
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' } });
  } finally {
    await browser.close();
  }
}
