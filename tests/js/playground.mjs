// The API playground in headless Chromium, driven with the pinned puppeteer-core.
// Usage: node tests/js/playground.mjs; PAGE (JSON: url, tag, method, path, scheme, token)
// and CHROMIUM (the browser's path, default Debian's /usr/bin/chromium) come from the
// environment (tests/rest/test_playground.py). Every request the page makes is intercepted:
// anything not on 127.0.0.1 is aborted and reported. Prints one JSON document with the tags
// the page rendered, the schemes Authorize offered, the try-it call and what went wrong.
import puppeteer from 'puppeteer-core';

const spec = JSON.parse(process.env.PAGE);
const TIMEOUT = 60_000;
const outside = [];
const consoleErrors = [];
const calls = [];

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // As root Chromium needs --no-sandbox; the rest keeps it from phoning home on its own.
  args: [
    '--no-sandbox',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
  ],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = new URL(request.url());
    const local = url.protocol === 'http:' && url.hostname === '127.0.0.1';
    if (local || url.protocol === 'data:') {
      request.continue();
    } else {
      outside.push(request.url());
      request.abort('blockedbyclient');
    }
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (url.pathname.endsWith(spec.path) && response.request().method() === spec.method) {
      calls.push({ url: response.url(), status: response.status(), headers: response.request().headers() });
    }
  });
  await page.evaluateOnNewDocument(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  await page.goto(spec.url, { waitUntil: 'load' });
  await page.waitForSelector('.opblock-tag');
  const tags = await page.$$eval('.opblock-tag', (els) => els.map((el) => el.dataset.tag));

  // Authorize: the modal lists every scheme; the anon key is already filled in.
  await page.click('.auth-wrapper .authorize');
  await page.waitForSelector('.modal-ux .auth-container');
  const schemes = await page.$$eval('.modal-ux .auth-container', (els) =>
    els.map((el) => ({
      name: el.querySelector('h4 code')?.textContent.trim(),
      authorized: /Authorized/.test(el.textContent),
      text: el.textContent.replace(/\s+/g, ' ').trim(),
    })),
  );
  const marked = await page.$$eval(
    '.modal-ux .auth-container',
    (els, name) => {
      const box = els.find((el) => el.querySelector('h4 code')?.textContent.trim() === name);
      const input = box?.querySelector('input');
      if (input) {
        box.setAttribute('data-playground-test', 'scheme');
        input.setAttribute('data-playground-test', 'token');
      }
      return Boolean(input);
    },
    spec.scheme,
  );
  if (!marked) throw new Error(`no input for the scheme ${spec.scheme}`);
  await page.type('[data-playground-test="token"]', spec.token);
  // Each scheme has its own Authorize button (and Close).
  await page.click('[data-playground-test="scheme"] .auth-btn-wrapper .authorize');
  await page.click('[data-playground-test="scheme"] .auth-btn-wrapper .btn-done');

  // Try it out on the operation: open its tag, the operation, then Execute.
  await page.click(`.opblock-tag[data-tag="${spec.tag}"]`);
  const block = `.opblock-${spec.method.toLowerCase()}:has(.opblock-summary-path[data-path="${spec.path}"])`;
  await page.waitForSelector(`${block} .opblock-summary-control`);
  await page.click(`${block} .opblock-summary-control`);
  await page.waitForSelector(`${block} .try-out__btn`);
  await page.click(`${block} .try-out__btn`);
  await page.waitForSelector(`${block} .execute`);
  await page.click(`${block} .execute`);
  await page.waitForSelector(`${block} .live-responses-table tr.response .response-col_status`);
  const shown = await page.$eval(`${block} .live-responses-table tr.response .response-col_status`, (el) =>
    el.textContent.trim(),
  );
  const violations = await page.evaluate(() => window.__violations);
  const csp = (await page.goto(spec.url)).headers()['content-security-policy'];
  console.log(
    JSON.stringify({ tags, schemes, shown_status: shown, calls, outside, violations, console_errors: consoleErrors, csp }),
  );
} finally {
  await browser.close();
}
