// Runs llama.cpp (prebuilt, via node-llama-cpp 3.22.1) on a GGUF and prints, as JSON, the raw
// logits after every prompt token and the greedy continuation (argmax, first index on ties).
//
// Usage: node llama_logits.mjs MODEL.gguf IDS [N_GENERATE] [THREADS] [KV_TYPE]
//   IDS: comma-separated token ids (the whole prompt, BOS included; nothing is added).
//   KV_TYPE: F16 (llama.cpp's default) or F32 (exact K/V, for float32 parity).
// Output: {"n_vocab":V, "logits":[[V floats] per prompt position], "generated":[ids],
//          "step_logits":[[V floats] that chose each generated id]}
// node-llama-cpp: see llama_cpp.mjs (run.sh installs it).
import { loadLlamaModel } from "./llama_cpp.mjs";

const [modelPath, idsArg, nGenArg, threadsArg] = process.argv.slice(2);
if (!modelPath || !idsArg) {
  console.error("usage: node llama_logits.mjs MODEL.gguf IDS [N_GENERATE] [THREADS]");
  process.exit(2);
}
const ids = idsArg.split(",").filter((s) => s.length).map(Number);
const nGenerate = Number(nGenArg ?? 0);
const threads = Number(threadsArg ?? 2);
const kvType = process.argv[6] ?? "F16";

const { llama, model } = await loadLlamaModel(modelPath);
const context = await model.createContext({
  contextSize: Math.max(64, ids.length + nGenerate + 8), threads, batchSize: 512,
  experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType,
  flashAttention: process.env.GEMMA4_LLAMA_FLASH_ATTN === "1",
});
const sequence = context.getSequence();

// Map<token, logit> -> dense array (every vocabulary entry is requested, so none is missing).
function dense(map, n) {
  const out = new Array(n).fill(null);
  for (const [tok, v] of map) out[tok] = v;
  return out;
}
function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; ++i) if (a[i] > a[best]) best = i;
  return best;
}

const want = { generateNext: { logits: true } };
const results = await sequence.controlledEvaluate(ids.map((t) => [t, want]));
const nVocab = results[0].next.logits.size;  // every token's logit is returned
const logits = results.map((r) => dense(r.next.logits, nVocab));
const generated = [];
const stepLogits = [];
let last = logits[logits.length - 1];
for (let k = 0; k < nGenerate; ++k) {
  const tok = argmax(last);
  generated.push(tok);
  stepLogits.push(last);
  if (k + 1 === nGenerate) break;
  const [r] = await sequence.controlledEvaluate([[tok, want]]);
  last = dense(r.next.logits, nVocab);
}
process.stdout.write(JSON.stringify({ n_vocab: nVocab, logits, generated, step_logits: stepLogits }));
await context.dispose();
await model.dispose();
await llama.dispose();
