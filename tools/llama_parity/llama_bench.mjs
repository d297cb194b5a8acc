// llama.cpp speed on a GGUF (node-llama-cpp 3.22.1, CPU), for side-by-side runs with `gemma4`:
// prefill of P tokens, then G greedy decode steps, with T threads. Prints JSON with tokens/s.
//
// Usage: node llama_bench.mjs MODEL.gguf [PROMPT_TOKENS=128] [GEN_TOKENS=32] [THREADS=2] [REPEATS=3]
// The prompt is BOS followed by token ids 10, 11, 12, ... (any ids; only the speed matters).
import { loadLlamaModel } from "./llama_cpp.mjs";

const [modelPath, pArg, gArg, tArg, rArg] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node llama_bench.mjs MODEL.gguf [PROMPT_TOKENS] [GEN_TOKENS] [THREADS] [REPEATS]");
  process.exit(2);
}
const P = Number(pArg ?? 128), G = Number(gArg ?? 32), threads = Number(tArg ?? 2), repeats = Number(rArg ?? 3);

const { llama, model } = await loadLlamaModel(modelPath);
const prompt = [2, ...Array.from({ length: P - 1 }, (_, i) => 10 + (i % 200))];
const runs = [];
for (let r = 0; r < repeats; ++r) {
  const context = await model.createContext({ contextSize: P + G + 16, threads, batchSize: Math.max(512, P) });
  const sequence = context.getSequence();
  const t0 = performance.now();
  const res = await sequence.controlledEvaluate(prompt.map((t, i) => (i === P - 1 ? [t, { generateNext: { token: true } }] : t)));
  const t1 = performance.now();
  let tok = res[P - 1].next.token;
  for (let k = 1; k < G; ++k) {
    const [out] = await sequence.controlledEvaluate([[tok, { generateNext: { token: true } }]]);
    tok = out.next.token;
  }
  const t2 = performance.now();
  runs.push({ prefill_tok_s: P / ((t1 - t0) / 1000), decode_tok_s: (G - 1) / ((t2 - t1) / 1000) });
  await context.dispose();
}
const best = (k) => Math.max(...runs.map((r) => r[k]));
console.log(JSON.stringify({ engine: "llama.cpp (node-llama-cpp 3.22.1)", model: modelPath, prompt_tokens: P,
                             gen_tokens: G, threads, repeats, prefill_tok_s: best("prefill_tok_s"),
                             decode_tok_s: best("decode_tok_s"), runs }));
await model.dispose();
await llama.dispose();
