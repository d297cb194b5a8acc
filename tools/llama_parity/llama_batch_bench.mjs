// llama.cpp's batched decode on a GGUF (node-llama-cpp 3.22.1, CPU), for comparison with
// `gemma4 bench --batch N`: in one process, one sequence decodes G greedy tokens alone, then N
// sequences decode G tokens each with their steps evaluated together (node-llama-cpp gathers
// the sequences' pending tokens into one llama_decode). Prompts (P tokens each) are untimed.
// Prints JSON with both speeds and the ratio; rounds alternate single and batched decode.
//
// Usage: node llama_batch_bench.mjs MODEL.gguf [PROMPT_TOKENS=512] [GEN_TOKENS=64] [THREADS=2]
//                                   [SEQUENCES=4] [ROUNDS=2]
import { loadLlamaModel } from "./llama_cpp.mjs";

const [modelPath, pArg, gArg, tArg, nArg, rArg] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node llama_batch_bench.mjs MODEL.gguf [PROMPT_TOKENS] [GEN_TOKENS] [THREADS] [SEQUENCES] [ROUNDS]");
  process.exit(2);
}
const P = Number(pArg ?? 512), G = Number(gArg ?? 64), threads = Number(tArg ?? 2);
const N = Number(nArg ?? 4), rounds = Number(rArg ?? 2);

const { llama, model } = await loadLlamaModel(modelPath);
// Each sequence its own prompt (different ids), so nothing is shared between them.
const promptOf = (s) => [2, ...Array.from({ length: P - 1 }, (_, i) => 10 + ((i + 37 * s) % 200))];

// Prefills `count` sequences (untimed), then decodes G tokens in each, all sequences' steps
// evaluated together; returns total decode tokens/s.
async function decode(count) {
  const context = await model.createContext({
    contextSize: count * (P + G + 16), sequences: count, threads, batchSize: Math.max(512, P),
  });
  const sequences = Array.from({ length: count }, () => context.getSequence());
  let tokens = [];
  for (let s = 0; s < count; ++s) {
    const prompt = promptOf(s);
    const res = await sequences[s].controlledEvaluate(
      prompt.map((t, i) => (i === P - 1 ? [t, { generateNext: { token: true } }] : t)));
    tokens.push(res[P - 1].next.token);
  }
  const t0 = performance.now();
  for (let k = 0; k < G; ++k) {
    const outs = await Promise.all(sequences.map((seq, s) =>
      seq.controlledEvaluate([[tokens[s], { generateNext: { token: true } }]])));
    tokens = outs.map(([out]) => out.next.token);
  }
  const seconds = (performance.now() - t0) / 1000;
  await context.dispose();
  return (count * G) / seconds;
}

const runs = [];
for (let r = 0; r < rounds; ++r) {
  const single = await decode(1);
  const batched = await decode(N);
  runs.push({ single_tok_s: single, batch_tok_s: batched, ratio: batched / single });
}
const best = (k) => Math.max(...runs.map((r) => r[k]));
console.log(JSON.stringify({ engine: "llama.cpp (node-llama-cpp 3.22.1)", model: modelPath, prompt_tokens: P,
                             gen_tokens: G, threads, sequences: N, single_tok_s: best("single_tok_s"),
                             batch_tok_s: best("batch_tok_s"), ratio_of_best: best("batch_tok_s") / best("single_tok_s"),
                             runs }));
await model.dispose();
await llama.dispose();
