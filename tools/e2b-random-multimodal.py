#!/usr/bin/env python3
"""Assemble a full-size random E2B folder with text, vision and audio weights, for timing the
three experiments (README "Performance") without the real checkpoint.

/work/models/e2b-random holds the text weights (and config, tokenizer), vision-random and
audio-random the towers. This writes OUT/ with symlinks to the three files as shards of one
checkpoint and the model.safetensors.index.json that maps every tensor to its shard.

usage: tools/e2b-random-multimodal.py [MODELS_DIR] [OUT]   (defaults: /work/models, /tmp/e2b-random-mm)
"""
import json
import os
import struct
import sys

models = sys.argv[1] if len(sys.argv) > 1 else "/work/models"
out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/e2b-random-mm"
parts = ["e2b-random", "vision-random", "audio-random"]

os.makedirs(out, exist_ok=True)
text_dir = os.path.join(models, parts[0])
for name in os.listdir(text_dir):
    if name != "model.safetensors":
        dst = os.path.join(out, name)
        if not os.path.lexists(dst):
            os.symlink(os.path.join(text_dir, name), dst)

weight_map = {}
for i, part in enumerate(parts):
    src = os.path.join(models, part, "model.safetensors")
    shard = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
    dst = os.path.join(out, shard)
    if not os.path.lexists(dst):
        os.symlink(src, dst)
    with open(src, "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    for name in header:
        if name != "__metadata__":
            weight_map[name] = shard

with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)
print(out)
