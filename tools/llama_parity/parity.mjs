// Parity of llama.cpp (node-llama-cpp 3.22.1) with the Hugging Face goldens, on GGUF files that
// `gemma4 quantize` writes from the tiny goldens model. Prints a report and a JSON summary;
// exits 1 if a check fails. See README.md for what is checked and why the bounds are what they are.
//
// Usage: node parity.mjs GEMMA4_BINARY SHARED_DIR WORK_DIR
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const [gemma4, shared, work] = process.argv.slice(2);
if (!gemma4 || !shared || !work) {
  console.error("usage: node parity.mjs GEMMA4_BINARY SHARED_DIR WORK_DIR");
  process.exit(2);
}
const tiny = path.join(shared, "goldens", "tiny");
fs.mkdirSync(work, { recursive: true });

// ---- safetensors (F32 / BF16 / I64) ---------------------------------------------------
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const base = 8 + n;
  const get = (name) => {
    const h = header[name];
    if (!h) throw new Error(`${file}: no tensor ${name}`);
    const [s, e] = h.data_offsets;
    const raw = buf.subarray(base + s, base + e);
    let data;
    if (h.dtype === "F32") data = Float32Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(4 * i));
    else if (h.dtype === "BF16") {
      data = new Float32Array(raw.length / 2);
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < data.length; ++i) u[i] = raw.readUInt16LE(2 * i) << 16;
    } else if (h.dtype === "I64") data = Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigInt64LE(8 * i)));
    else throw new Error(`unsupported dtype ${h.dtype}`);
    return { shape: h.shape, data };
  };
  return { get };
}

const manifest = JSON.parse(fs.readFileSync(path.join(tiny, "manifest.json"), "utf8"));
const config = JSON.parse(fs.readFileSync(path.join(tiny, "config.json"), "utf8")).text_config;
const goldens = readSafetensors(path.join(tiny, "goldens_text.safetensors"));
const weights = readSafetensors(path.join(tiny, "model.safetensors"));
const embed = weights.get("model.language_model.embed_tokens.weight");
const normW = weights.get("model.language_model.norm.weight").data;
const [V, H] = embed.shape;
const cap = config.final_logit_softcapping;
const eps = config.rms_norm_eps;
const atol = manifest.cases.find((c) => c.name === "text_prefill_20").outputs.logits.atol;

// logits = softcap(rms_norm(h) * w . E^T): the model's head applied to a golden hidden state.
function headLogits(hidden, T) {
  const out = [];
  for (let t = 0; t < T; ++t) {
    const h = hidden.subarray(t * H, (t + 1) * H);
    let ms = 0;
    for (const v of h) ms += v * v;
    const r = 1 / Math.sqrt(ms / H + eps);
    const x = Array.from(h, (v, i) => v * r * normW[i]);
    const row = new Array(V);
    for (let v = 0; v < V; ++v) {
      let s = 0;
      for (let i = 0; i < H; ++i) s += x[i] * embed.data[v * H + i];
      row[v] = cap ? cap * Math.tanh(s / cap) : s;
    }
    out.push(row);
  }
  return out;
}

function compare(a, b) {
  let maxAbs = 0, agree = 0;
  const argmax = (r) => r.reduce((best, v, i) => (v > r[best] ? i : best), 0);
  for (let t = 0; t < a.length; ++t) {
    for (let v = 0; v < a[t].length; ++v) maxAbs = Math.max(maxAbs, Math.abs(a[t][v] - b[t][v]));
    agree += argmax(a[t]) === argmax(b[t]);
  }
  return { max_abs: maxAbs, top1_agreement: agree / a.length };
}

function quantize(type, out, extra = []) {
  execFileSync(gemma4, ["quantize", tiny, out, "--type", type, ...extra], { stdio: ["ignore", "ignore", "inherit"] });
}

function llamaLogits(model, ids, kv, nGen = 0) {
  const r = spawnSync(process.execPath, [path.join(here, "llama_logits.mjs"), model, ids.join(","), String(nGen), "2", kv],
                      { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) return { error: (r.stderr || "").trim().split("\n").slice(-1)[0] || `exit ${r.status}` };
  return JSON.parse(r.stdout);
}

const summary = { checks: [] };
let failed = false;
const record = (c) => {
  summary.checks.push(c);
  const status = c.pass === undefined ? "INFO" : c.pass ? "PASS" : "FAIL";
  if (c.pass === false) failed = true;
  console.log(`${status}  ${c.name}: ${c.detail}`);
};

// 0. The reference head is right: applied to the golden last hidden state it gives the golden logits.
const ids20 = goldens.get("text_prefill_20.input_ids").data;
const T = ids20.length;
{
  const ref = headLogits(goldens.get("text_prefill_20.layer_output.9").data, T);
  const gold = goldens.get("text_prefill_20.logits").data;
  const goldRows = Array.from({ length: T }, (_, t) => Array.from(gold.subarray(t * V, (t + 1) * V)));
  const c = compare(ref, goldRows);
  record({ name: "reference head on layer_output.9 vs golden logits", ...c, pass: c.max_abs <= 1e-3,
           detail: `max |diff| ${c.max_abs.toExponential(2)} (bound 1e-3: float32 vs float64 sums)` });
}

// 1. The whole tiny model in llama.cpp.
{
  const model = path.join(work, "tiny-f32.gguf");
  quantize("f32", model);
  const r = llamaLogits(model, ids20, "F32");
  if (r.error) {
    record({ name: "whole tiny model in llama.cpp", pass: undefined,
             detail: `llama.cpp cannot run it: ${r.error}` });
  } else {
    const gold = goldens.get("text_prefill_20.logits").data;
    const goldRows = Array.from({ length: T }, (_, t) => Array.from(gold.subarray(t * V, (t + 1) * V)));
    const c = compare(r.logits, goldRows);
    record({ name: "whole tiny model, f32, vs golden logits", ...c, pass: c.max_abs <= atol,
             detail: `max |diff| ${c.max_abs.toExponential(2)} (atol ${atol}), top-1 ${c.top1_agreement}` });
  }
}

// 2. The first 6 layers (all with their own KV; sliding + full attention, proportional RoPE via
//    rope_freqs, per-layer embeddings, layer scalars, softcapping) against the golden hidden
//    state after layer 5 put through the model's head.
{
  const keep = 6;
  const ref = headLogits(goldens.get(`text_prefill_20.layer_output.${keep - 1}`).data, T);
  const study = manifest.tolerance_study.text_prefill_20.logits;
  // Rounded activations flip near-ties: the study's lowest bf16 top-1 agreement over text cases.
  const minTop1 = Math.min(...["text_prefill_5", "text_prefill_20", "text_prefill_45"].map(
    (k) => manifest.tolerance_study[k].logits.bf16_argmax_agreement));
  const cases = [
    // float32 weights, float32 K/V: only summation order differs -> the goldens' float32 atol.
    { type: "f32", kv: "F32", bound: atol },
    // bf16 weights are the checkpoint's own values, but llama.cpp rounds activations to bf16
    // for BF16 matmuls: the goldens' bf16-activation study bounds that error.
    { type: "bf16", kv: "F16", bound: study.bf16_vs_f32_max_abs },
    // q8_0 weights and q8_0 activations (llama.cpp's vec_dot type): per-block 8-bit rounding of
    // both, about twice the relative error of bf16 activations.
    { type: "q8_0", kv: "F16", bound: 2 * study.bf16_vs_f32_max_abs },
    // q4_0: 4-bit weights; no bound is claimed, the numbers are reported.
    { type: "q4_0", kv: "F16", bound: undefined },
  ];
  for (const c of cases) {
    const model = path.join(work, `tiny${keep}-${c.type}.gguf`);
    quantize(c.type, model, ["--layers", String(keep)]);
    const r = llamaLogits(model, ids20, c.kv);
    if (r.error) {
      record({ name: `first ${keep} layers, ${c.type}`, pass: false, detail: r.error });
      continue;
    }
    const cmp = compare(r.logits, ref);
    if (c.bound === undefined) {
      record({ name: `first ${keep} layers, ${c.type} GGUF (KV ${c.kv}) vs golden layer_output.${keep - 1} + head`, ...cmp,
               detail: `max |diff| ${cmp.max_abs.toExponential(2)} (no bound claimed), top-1 agreement ${cmp.top1_agreement}` });
      continue;
    }
    record({ name: `first ${keep} layers, ${c.type} GGUF (KV ${c.kv}) vs golden layer_output.${keep - 1} + head`,
             ...cmp, bound: c.bound, pass: cmp.max_abs <= c.bound && cmp.top1_agreement >= (c.type === "f32" ? 1 : minTop1),
             detail: `max |diff| ${cmp.max_abs.toExponential(2)} (bound ${c.bound.toFixed(4)}), top-1 agreement ${cmp.top1_agreement}` });
  }
}

console.log(JSON.stringify(summary));
process.exit(failed ? 1 : 0);
