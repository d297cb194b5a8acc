// A browser check of the chat page of `gemma4 serve` (not part of the test suite: it needs Debian's
// chromium and the npm package playwright-core). It starts SERVER_BINARY on a free port, opens
// the page in headless chromium, and as a user would: sends a message with thinking on, attaches
// an image and sends it, stops a long reply, starts a new chat; it checks what the page shows
// and saves screenshots into OUT_DIR.
//
// Usage: node tools/web_page_smoke.mjs PLAYWRIGHT_DIR OUT_DIR SERVER_BINARY [server flags...]
//   e.g. node tools/web_page_smoke.mjs ~/.cache/gemma4-dev/npm-playwright /tmp/page build/gemma4_fake_server
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { pngBytes } from '../tests/server/node/media_fixtures.mjs';
import { startServer } from '../tests/server/node/server_process.mjs';

const [playwrightDir, outDir, serverBinary, ...serverFlags] = process.argv.slice(2);
const { chromium } = createRequire(`${playwrightDir}/package.json`)('playwright-core');
mkdirSync(outDir, { recursive: true });

const { child: server, url } = await startServer(serverBinary, [...serverFlags, '--port', '0']);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${url}/`);
  // Selector waits only: the page's Content-Security-Policy forbids the eval that
  // waitForFunction's polling would need.
  await page.waitForSelector('#model:not(:text-is("…"))');
  const fake = (await page.textContent('#model')) === 'fake-gemma';
  console.log('model shown:', await page.textContent('#model'));

  await page.check('#thinking');
  await page.fill('#prompt', 'hello there');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('.assistant .stats:not(:empty)');
  const answer = await page.textContent('.assistant');
  console.log('answer:', JSON.stringify(answer));
  if (fake) assert.match(answer, /thinking about hello there\s*echo: hello there/);
  await page.screenshot({ path: `${outDir}/1-answer.png` });

  await page.uncheck('#thinking');
  await page.setInputFiles('#file', { name: 'dot.png', mimeType: 'image/png', buffer: pngBytes(8, 8) });
  assert.match(await page.textContent('#attached'), /dot\.png/);
  await page.fill('#prompt', 'what is this');
  await page.click('#send');
  await page.waitForSelector('.assistant:nth-child(4) .stats:not(:empty)');
  console.log('answer with image:', JSON.stringify(await page.locator('.assistant').nth(1).textContent()));

  if (fake) {  // the Stop button, on a reply slow enough to catch (a random model's may end at once)
    await page.fill('#prompt', 'SLOW 200');
    await page.click('#send');
    await page.waitForSelector('.assistant:nth-child(6) :text("w3")');
    assert.equal(await page.textContent('#send'), 'Stop');
    await page.click('#send');
    await page.waitForSelector('.assistant:nth-child(6) .stats:text-is("stopped")');
    assert.equal(await page.textContent('#send'), 'Send');
  }
  await page.screenshot({ path: `${outDir}/2-stopped.png` });

  await page.click('#new-chat');
  assert.equal(await page.locator('.turn').count(), 0);
  assert.deepEqual(errors, []);
  console.log('web page smoke check passed');
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
