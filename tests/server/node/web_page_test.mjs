// The chat page of `gemma4 serve`, as served: its files, and its client module (chat_client.js,
// imported from the server itself) driving the server the way the page does: streamed replies,
// thinking, image and audio attachments, a multi-turn history, max tokens, errors, the API key and
// the stop button. No browser: Node has the same fetch and streams the page uses.
//
// Usage: node web_page_test.mjs SERVER_BINARY [server flags...]
// Against the scripted fake backend (model id "fake-gemma") replies are checked exactly; against a
// real model only their shape is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { pngBytes, wavBytes } from './media_fixtures.mjs';
import { startServer as startProcess } from './server_process.mjs';

const [serverBinary, ...serverFlags] = process.argv.slice(2);
const API_KEY = 'page-key-7';

const startServer = (flags = ['--api-key', API_KEY]) => startProcess(serverBinary, [...serverFlags, '--port', '0', ...flags]);

const { child, url } = await startServer();
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
let client, fake;
// Replies of at most 24 tokens unless a test asks otherwise: a random model talks on.
const ask = (messages, options = {}, extra = {}) =>
  client.streamChat({ baseUrl: url, apiKey: API_KEY, body: client.requestBody(messages, { maxTokens: 24, ...options }), ...extra });

test('the page and its scripts are served without the API key, the API is not', async () => {
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
  const html = await page.text();
  assert.match(html, /<script type="module" src="\/app\.js"><\/script>/);
  for (const id of ['log', 'prompt', 'send', 'file', 'thinking', 'api-key', 'new-chat']) assert.match(html, new RegExp(`id="${id}"`));
  for (const file of ['/app.js', '/chat_client.js']) {
    const r = await fetch(`${url}${file}`);
    assert.equal(r.status, 200, file);
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
  }
  assert.equal((await fetch(`${url}/v1/models`)).status, 401);
  assert.equal((await fetch(`${url}/`, { method: 'POST' })).status, 401);
});

test('app.js parses, and imports only what chat_client.js exports', async () => {
  const app = await (await fetch(`${url}/app.js`)).text();
  const dir = mkdtempSync(path.join(tmpdir(), 'gemma4-page-'));
  writeFileSync(path.join(dir, 'app.mjs'), app);
  const check = spawnSync(process.execPath, ['--check', path.join(dir, 'app.mjs')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const imported = /import\s*\{([^}]*)\}\s*from\s*'\/chat_client\.js'/.exec(app);
  assert.ok(imported, 'app.js imports /chat_client.js');
  for (const name of imported[1].split(',').map((s) => s.trim()).filter(Boolean)) {
    assert.ok(name in client, `chat_client.js exports ${name}`);
  }
  // Model text reaches the page through textContent, never as markup.
  assert.doesNotMatch(app, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});

test('a streamed reply, with its speed line', async () => {
  const models = await (await fetch(`${url}/v1/models`, { headers: { Authorization: `Bearer ${API_KEY}` } })).json();
  fake = models.data[0].id === 'fake-gemma';
  const deltas = [];
  const reply = await ask([client.userMessage('hello there')], {}, { onDelta: (d) => deltas.push(d) });
  if (fake) {
    assert.equal(reply.content, 'echo: hello there');
    assert.equal(reply.usage.completion_tokens, 3);
  }
  assert.ok(deltas.length >= 2, 'the reply arrives in pieces');
  assert.ok(['stop', 'length'].includes(reply.finishReason));
  assert.ok(reply.usage.prompt_tokens > 0 && reply.usage.completion_tokens > 0);
  assert.ok(reply.firstTokenMs === null || reply.firstTokenMs <= reply.totalMs);
  assert.match(client.speedLine(reply), fake ? /^3 tokens · first token \d+\.\d\d s · \d+\.\d tokens\/s$/ : /^\d+ tokens?/);
});

test('thinking streams apart from the answer', async () => {
  const reply = await ask([client.userMessage('why')], { thinking: true });
  if (fake) {
    assert.equal(reply.reasoning, 'thinking about why');
    assert.equal(reply.content, 'echo: why');
  }
  const plain = await ask([client.userMessage('why')], { thinking: false });
  assert.equal(plain.reasoning, '');
});

test('an image and an audio file go with the text', async () => {
  const message = client.userMessage('what is this', [
    { kind: 'image', name: 'g.png', mime: 'image/png', bytes: new Uint8Array(pngBytes(8, 8)) },
    { kind: 'audio', name: 'tone.wav', mime: 'audio/wav', bytes: new Uint8Array(wavBytes(0.25)) },
  ]);
  assert.deepEqual(message.content.map((p) => p.type), ['image_url', 'input_audio', 'text']);
  const reply = await ask([message]);
  if (fake) {
    assert.equal(reply.content,
                 `[image ${pngBytes(8, 8).length} bytes] [audio wav ${wavBytes(0.25).length} bytes] echo: what is this`);
  }
  assert.ok(reply.usage.prompt_tokens > 0 && reply.usage.completion_tokens > 0);
});

test('a conversation: the history goes back with each turn', async () => {
  const first = client.userMessage('one two');
  const r1 = await ask([first]);
  const second = client.userMessage('three');
  const r2 = await ask([first, client.assistantMessage(r1), second]);
  assert.ok(r2.usage.prompt_tokens > r1.usage.prompt_tokens);
  if (fake) assert.equal(r2.usage.prompt_tokens, 2 + 3 + 1);  // words of every message
});

test('max tokens and temperature', async () => {
  const reply = await ask([client.userMessage('a b c d e f')], { maxTokens: 2, temperature: 0.5 });
  assert.ok(reply.usage.completion_tokens <= 2);
  if (fake) assert.equal(reply.finishReason, 'length');
  assert.equal(client.requestBody([], { temperature: NaN }).temperature, undefined);
});

test('errors carry the server\'s message', async () => {
  await assert.rejects(
    client.streamChat({ baseUrl: url, apiKey: 'wrong', body: client.requestBody([client.userMessage('hi')]) }),
    (e) => e instanceof client.ChatError && e.status === 401 && /API key/.test(e.message));
  await assert.rejects(
    ask([{ role: 'wizard', content: 'hi' }]),
    (e) => e instanceof client.ChatError && e.status === 400 && e.message.length > 0);
  if (fake) {  // an error after the stream began arrives as an event
    await assert.rejects(ask([client.userMessage('FAIL_BAD_INPUT')]),
                         (e) => e instanceof client.ChatError && /refuses/.test(e.message));
  }
  assert.throws(() => client.userMessage('x', [{ kind: 'audio', name: 'a.aiff', mime: 'audio/aiff', bytes: new Uint8Array(4) }]),
                client.ChatError);
});

test('the stop button ends the stream and the server stops generating', async () => {
  const controller = new AbortController();
  let deltas = 0;
  const reply = ask([client.userMessage(fake ? 'SLOW 200' : 'count to a thousand')], { maxTokens: 2000 },
                    { signal: controller.signal, onDelta: () => { if (++deltas === (fake ? 2 : 1)) controller.abort(); } });
  await assert.rejects(reply, (e) => e.name === 'AbortError');
  if (fake) {  // the slot is free again well before the 4 s the reply would have taken
    const start = Date.now();
    for (;;) {
      const metrics = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${API_KEY}` } })).text();
      const active = /\ngemma4_requests_active (\d+)/.exec(metrics);
      assert.ok(active, 'the metrics name the running generations');
      if (active[1] === '0') break;
      assert.ok(Date.now() - start < 2000, 'the aborted generation is cancelled');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const after = await ask([client.userMessage('still there?')]);
  assert.ok(after.usage.completion_tokens > 0);
});

test('audio formats the page accepts', () => {
  assert.equal(client.audioFormat('a.WAV'), 'wav');
  assert.equal(client.audioFormat('a.mp3'), 'mp3');
  assert.equal(client.audioFormat('clip', 'audio/x-flac'), 'flac');
  assert.equal(client.audioFormat('clip', 'audio/ogg'), 'ogg');
  assert.equal(client.audioFormat('clip.aiff', 'audio/aiff'), null);
});

let failed = 0;
try {
  const source = await (await fetch(`${url}/chat_client.js`)).text();
  client = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);
  for (const { name, fn } of tests) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}\n${e.stack}`);
    }
  }
} finally {
  child.kill('SIGTERM');
}

// Without the page (and without a key): the API only.
const apiOnly = await startServer(serverBinary.includes('fake') ? ['--web-page', '0'] : ['--no-webui']);
try {
  const statuses = await Promise.all(['/', '/app.js', '/v1/models'].map(async (p) => (await fetch(`${apiOnly.url}${p}`)).status));
  if (statuses.join() === '404,404,200') console.log('ok   without the page, only the API is served');
  else { failed++; console.log(`FAIL without the page: /, /app.js, /v1/models answered ${statuses}`); }
} finally {
  apiOnly.child.kill('SIGTERM');
}

console.log(failed ? `${failed} failed` : `all ${tests.length + 1} passed`);
process.exit(failed ? 1 : 0);
