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

function quantize(type, out, extra = [], from = tiny) {
  execFileSync(gemma4, ["quantize", from, out, "--type", type, ...extra], { stdio: ["ignore", "ignore", "inherit"] });
}

function llamaLogits(model, ids, kv, nGen = 0) {
  const r = spawnSync(process.execPath, [path.join(here, "llama_logits.mjs"), model, ids.join(","), String(nGen), "2", kv],
                      { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) return { error: (r.stderr || "").trim().split("\n").slice(-1)[0] || `exit ${r.status}` };
  return JSON.parse(r.stdout);
}

// Rounded activations flip near-ties: the lowest bf16 top-1 agreement of the goldens' study over the text cases.
function minTop1Text() {
  return Math.min(...["text_prefill_5", "text_prefill_20", "text_prefill_45"].map(
    (k) => manifest.tolerance_study[k].logits.bf16_argmax_agreement));
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

// 3. Our engine on the very files llama.cpp ran (the 6-layer GGUFs): logits of the same prompt and
//    greedy continuations. Both engines read the same stored weights, so what differs is each
//    engine's arithmetic: for f32 weights and an f32 KV cache, summation order and ggml's f16
//    GELU table (bounded by the goldens' float32 atol, as in 2); for q8_0 both quantize the
//    activations to 8-bit blocks the same way, and the bound of 2 applies.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + headerLen).toString("latin1");
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(",").filter((s) => s.trim()).map(Number);
  const base = 10 + headerLen;
  const data = Float32Array.from({ length: (buf.length - base) / 4 }, (_, i) => buf.readFloatLE(base + 4 * i));
  return { shape, data };
}
{
  const keep = 6, nGen = 12;
  const study = manifest.tolerance_study.text_prefill_20.logits;
  // bf16: the same stored values; llama.cpp rounds activations to bf16, we do not (float32
  // products): the goldens' bf16-activation study bounds it, as in 2.
  for (const c of [{ type: "f32", kv: "F32", bound: atol, greedy: true },
                   { type: "bf16", kv: "F16", bound: study.bf16_vs_f32_max_abs, greedy: false },
                   { type: "q8_0", kv: "F16", bound: 2 * study.bf16_vs_f32_max_abs, greedy: false }]) {
    const model = path.join(work, `tiny${keep}-${c.type}.gguf`);
    const npy = path.join(work, `ours-${c.type}.npy`);
    execFileSync(gemma4, ["logits", "--model", model, "--ids", ids20.join(","), "--out", npy], { stdio: ["ignore", "ignore", "inherit"] });
    const ours = readNpy(npy);
    const oursRows = Array.from({ length: T }, (_, t) => Array.from(ours.data.subarray(t * V, (t + 1) * V)));
    const r = llamaLogits(model, ids20, c.kv, nGen);
    if (r.error) {
      record({ name: `gemma4 vs llama.cpp, first ${keep} layers, ${c.type}`, pass: false, detail: r.error });
      continue;
    }
    const cmp = compare(oursRows, r.logits);
    const oursGen = JSON.parse(execFileSync(gemma4, ["generate", "--model", model, "--ids", ids20.join(","), "--max-tokens",
                                                     String(nGen), "--ignore-eos", "--greedy"], { encoding: "utf8" }));
    const sameGreedy = JSON.stringify(oursGen) === JSON.stringify(r.generated);
    record({ name: `gemma4 vs llama.cpp on the same ${c.type} GGUF (first ${keep} layers, llama KV ${c.kv})`, ...cmp,
             bound: c.bound, greedy_ours: oursGen, greedy_llama: r.generated,
             pass: cmp.max_abs <= c.bound && cmp.top1_agreement >= (c.type === "f32" ? 1 : 0.8) && (!c.greedy || sameGreedy),
             detail: `max |diff| ${cmp.max_abs.toExponential(2)} (bound ${c.bound.toFixed(4)}), top-1 agreement ` +
                     `${cmp.top1_agreement}, ${nGen} greedy tokens ${sameGreedy ? "identical" : "differ"}` +
                     (c.greedy ? "" : " (reported only)") + ` [ours ${oursGen.join(",")}; llama ${r.generated.join(",")}]` });
  }
}

// 4. The whole model. llama.cpp's donor rule needs the last non-shared layer to be full attention
//    and the one before it sliding (as in E2B/E4B). The tiny config with one more KV-shared layer
//    (num_kv_shared_layers 5: layers 0-4 own their K/V, 4 full and 3 sliding; 5-9 shared, with
//    both rules picking the same donors 3 and 4) satisfies it and keeps every other feature,
//    double-wide MLPs on the shared layers included. `gemma4 dev make-random` writes it with
//    random weights (the goldens' initialisation scale); both engines run all 10 layers on the
//    same GGUFs. Bounds: as in 3, with the bf16 / q8_0 ones scaled by this model's logit spread
//    over the goldens' (rounding errors grow with the values rounded; these random weights give
//    logits 25x narrower than the goldens model's), times 1.5 because the study's figure is the
//    maximum over one model's 20 480 logits and such a maximum varies from model to model (see
//    README.md). Greedy tokens must be identical for f32.
{
  const nGen = 16;
  const full = JSON.parse(fs.readFileSync(path.join(tiny, "config.json"), "utf8"));
  full.text_config.num_kv_shared_layers = 5;
  const configPath = path.join(work, "kv5-config.json");
  fs.writeFileSync(configPath, JSON.stringify(full, null, 2));
  const dir = path.join(work, "tiny-kv5");
  execFileSync(gemma4, ["dev", "make-random", "--config", configPath, "--out", dir, "--seed", "11"],
               { stdio: ["ignore", "ignore", "inherit"] });
  const study = manifest.tolerance_study.text_prefill_20.logits;
  const rows = (npy) => Array.from({ length: T }, (_, t) => Array.from(npy.data.subarray(t * V, (t + 1) * V)));
  const oursLogits = (model, tag) => {
    const npy = path.join(work, `ours-kv5-${tag}.npy`);
    execFileSync(gemma4, ["logits", "--model", model, "--ids", ids20.join(","), "--out", npy], { stdio: ["ignore", "ignore", "inherit"] });
    return rows(readNpy(npy));
  };
  const oursGreedy = (model) => JSON.parse(execFileSync(gemma4, ["generate", "--model", model, "--ids", ids20.join(","),
                                                                  "--max-tokens", String(nGen), "--ignore-eos", "--greedy"],
                                                        { encoding: "utf8" }));
  const folderLogits = oursLogits(dir, "folder");
  const spread = (rowsOf) => {
    const all = rowsOf.flat();
    const mean = all.reduce((a, v) => a + v, 0) / all.length;
    return Math.sqrt(all.reduce((a, v) => a + (v - mean) * (v - mean), 0) / all.length);
  };
  const kModelToModel = 1.5;
  const scale = kModelToModel * spread(folderLogits) / study.std;
  record({ name: "whole model (kv5) logit spread", pass: undefined,
           detail: `std ${spread(folderLogits).toFixed(4)} vs the goldens' ${study.std.toFixed(4)}: bf16/q8_0 bounds x ${scale.toFixed(4)} ` +
                   `(spread ratio x ${kModelToModel})` });
  for (const c of [{ type: "f32", kv: "F32", bound: atol, greedy: true },
                   { type: "bf16", kv: "F16", bound: scale * study.bf16_vs_f32_max_abs, greedy: false },
                   { type: "q8_0", kv: "F16", bound: 2 * scale * study.bf16_vs_f32_max_abs, greedy: false }]) {
    const model = path.join(work, `kv5-${c.type}.gguf`);
    quantize(c.type, model, [], dir);
    const ours = oursLogits(model, c.type);
    if (c.type === "f32") {
      // Our engine on the f32 GGUF against our own safetensors path (the same stored values).
      const cmp = compare(ours, folderLogits);
      record({ name: "whole model (kv5), gemma4 on the f32 GGUF vs gemma4 on the safetensors folder", ...cmp,
               pass: cmp.max_abs <= atol && cmp.top1_agreement === 1,
               detail: `max |diff| ${cmp.max_abs.toExponential(2)} (bound ${atol.toFixed(4)}), top-1 agreement ${cmp.top1_agreement}` });
    }
    const r = llamaLogits(model, ids20, c.kv, nGen);
    if (r.error) {
      record({ name: `whole model (kv5), ${c.type}: llama.cpp`, pass: false, detail: r.error });
      continue;
    }
    const cmp = compare(ours, r.logits);
    const gen = oursGreedy(model);
    const sameGreedy = JSON.stringify(gen) === JSON.stringify(r.generated);
    record({ name: `whole model (kv5, all 10 layers), gemma4 vs llama.cpp on the same ${c.type} GGUF (llama KV ${c.kv})`,
             ...cmp, bound: c.bound, greedy_ours: gen, greedy_llama: r.generated,
             pass: cmp.max_abs <= c.bound && cmp.top1_agreement >= (c.type === "f32" ? 1 : minTop1Text()) && (!c.greedy || sameGreedy),
             detail: `max |diff| ${cmp.max_abs.toExponential(2)} (bound ${c.bound.toFixed(4)}), top-1 agreement ` +
                     `${cmp.top1_agreement}, ${nGen} greedy tokens ${sameGreedy ? "identical" : "differ"}` +
                     (c.greedy ? "" : " (reported only)") + ` [ours ${gen.join(",")}; llama ${r.generated.join(",")}]` });
  }
}

// 5. Whether llama.cpp (node-llama-cpp 3.22.1) can load our mmproj file: its prebuilt binaries
//    carry no mtmd/clip code and the package no mmproj API, so loading the file as a model is
//    all there is to try; llama.cpp refuses the `clip` architecture. Reported only.
{
  const mmproj = path.join(work, "tiny-mmproj-f32.gguf");
  quantize("f32", path.join(work, "tiny-text-for-mmproj.gguf"), ["--mmproj", mmproj]);
  const r = spawnSync(process.execPath, [path.join(here, "llama_logits.mjs"), mmproj, "2", "0", "2", "F32"], { encoding: "utf8" });
  // llama.cpp's own log line says why (it is logged asynchronously and may be lost on a busy
  // machine); node-llama-cpp's exception is the fallback.
  const lines = `${r.stdout || ""}\n${r.stderr || ""}`.split("\n");
  const said = lines.find((l) => l.includes("error loading model")) ?? lines.find((l) => l.startsWith("Error:")) ??
               `exit ${r.status}`;
  record({ name: "node-llama-cpp 3.22.1 loading our mmproj GGUF", pass: undefined,
           detail: r.status === 0 ? "loaded (unexpected)" : `refused: ${said.replace("[node-llama-cpp] ", "")}` });
}

console.log(JSON.stringify(summary));
process.exit(failed ? 1 : 0);
