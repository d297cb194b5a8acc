// Memory of `gemma4 serve` over many requests: starts the server, sends REQUESTS requests of one
// kind from CLIENTS concurrent clients (plain fetch, no npm packages), and prints the server's
// anonymous memory (/proc/PID/smaps_rollup "Anonymous") every EVERY requests, so growth per
// request and a plateau can be read off.
//
// Usage: node bench/serve_memory.mjs KIND REQUESTS SERVER_BINARY serve -m MODEL [flags...]
//   KIND: image | text | audio | mix;  env: CLIENTS (8), EVERY (50), MAX_TOKENS (8)
// Sampling alternates greedy and top-k 40 (the memory is under test, not the sampler).
// Example (the tests' tiny model, see tests/cli/cli_model.h):
//   node bench/serve_memory.mjs image 500 build/gemma4 serve -m /tmp/tiny-model --ctx-size 2048
import { startServer } from '../tests/server/node/server_process.mjs';
import { readFileSync } from 'node:fs';
import { pngBytes, wavBytes } from '../tests/server/node/media_fixtures.mjs';

const [kind, total, binary, ...flags] = process.argv.slice(2);
const REQUESTS = Number(total);
const CLIENTS = Number(process.env.CLIENTS ?? 8);
const EVERY = Number(process.env.EVERY ?? 50);
const MAX_TOKENS = Number(process.env.MAX_TOKENS ?? 8);

const IMAGE = `data:image/png;base64,${Buffer.concat([pngBytes(8, 8), Buffer.alloc(64 * 1024)]).toString('base64')}`;
const AUDIO = wavBytes(0.25).toString('base64');

function content(i) {
  const k = kind === 'mix' ? ['text', 'image', 'audio'][i % 3] : kind;
  const parts = [{ type: 'text', text: `request ${i}` }];
  if (k === 'image') parts.push({ type: 'image_url', image_url: { url: IMAGE } });
  if (k === 'audio') parts.push({ type: 'input_audio', input_audio: { data: AUDIO, format: 'wav' } });
  return parts;
}

const anonKiB = (pid) => Number(/\nAnonymous:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);

const { child, url } = await startServer(binary, [...flags, '--port', '0', '--parallel', '4']);

// Rounds of EVERY requests from CLIENTS clients; memory is read between rounds, when no request
// is in flight (an in-flight request's working set would blur the numbers).
let failed = 0;
const t0 = Date.now();
console.log(`kind=${kind} clients=${CLIENTS} pid=${child.pid}`);
console.log(`requests  anonymous_KiB`);
console.log(`${String(0).padStart(8)}  ${anonKiB(child.pid)}`);
for (let done = 0; done < REQUESTS; done += EVERY) {
  let next = done;
  const end = Math.min(REQUESTS, done + EVERY);
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: content(i) }], max_tokens: MAX_TOKENS, stream: i % 2 === 1,
                               ...(i % 4 < 2 ? { temperature: 0 } : { top_k: 40, seed: i }) }) });
      const text = await r.text();
      if (r.status !== 200 || text.includes('"error"')) { failed++; console.error(r.status, text.slice(0, 200)); }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  console.log(`${String(end).padStart(8)}  ${anonKiB(child.pid)}`);
}
console.log(`${REQUESTS} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${failed} failed`);
child.kill('SIGTERM');
process.exit(failed ? 1 : 0);
