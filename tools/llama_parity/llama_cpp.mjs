// llama.cpp for the scripts beside this file: node-llama-cpp 3.22.1 (prebuilt, CPU), from
// GEMMA4_LLAMA_NPM_DIR or ~/.cache/gemma4-dev/npm-llama, where run.sh installs it.
import { createRequire } from "node:module";
import path from "node:path";
import os from "node:os";

const npmDir = process.env.GEMMA4_LLAMA_NPM_DIR ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "gemma4-dev", "npm-llama");
const require = createRequire(path.join(npmDir, "package.json"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));

// The GGUF at modelPath, loaded on the CPU; dispose of both when done.
export async function loadLlamaModel(modelPath) {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  return { llama, model };
}
