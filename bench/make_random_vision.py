#!/usr/bin/env python3
"""Writes a random-weight, vision-only Gemma 4 E2B checkpoint folder for the vision benchmark:
config.json (E2B's vision_config, text hidden 1536), processor_config.json (budget 280) and
model.safetensors with every vision tensor in bf16. Standard library only.

Usage: python3 bench/make_random_vision.py [/work/models/vision-random]
Once `gemma4 dev make-random` writes vision tensors, /work/models/e2b-random serves as well."""
import json
import os
import random
import struct
import sys

VISION = {
    "model_type": "gemma4_vision", "hidden_size": 768, "intermediate_size": 3072,
    "num_hidden_layers": 16, "num_attention_heads": 12, "num_key_value_heads": 12, "head_dim": 64,
    "patch_size": 16, "pooling_kernel_size": 3, "position_embedding_size": 10240,
    "rms_norm_eps": 1e-6, "rope_parameters": {"rope_theta": 100.0, "rope_type": "default"},
    "hidden_activation": "gelu_pytorch_tanh", "use_clipped_linears": True, "standardize": False,
    "default_output_length": 280,
}
PROCESSOR = {"image_processor": {"image_processor_type": "Gemma4ImageProcessorPil", "patch_size": 16,
                                 "pooling_kernel_size": 3, "max_soft_tokens": 280, "do_rescale": True,
                                 "rescale_factor": 1 / 255, "do_normalize": False}}
TEXT_HIDDEN = 1536


def tensors():
    d, f, p = 768, 3072, 16
    t = "model.vision_tower."
    yield t + "patch_embedder.input_proj.weight", [d, p * p * 3], "random"
    yield t + "patch_embedder.position_embedding_table", [2, 10240, d], "random"
    for i in range(16):
        pre = f"{t}encoder.layers.{i}."
        for n in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                  "post_feedforward_layernorm"):
            yield pre + n + ".weight", [d], "ones"
        yield pre + "self_attn.q_norm.weight", [64], "ones"
        yield pre + "self_attn.k_norm.weight", [64], "ones"
        for name, rows, cols in (("self_attn.q_proj", d, d), ("self_attn.k_proj", d, d), ("self_attn.v_proj", d, d),
                                 ("self_attn.o_proj", d, d), ("mlp.gate_proj", f, d), ("mlp.up_proj", f, d),
                                 ("mlp.down_proj", d, f)):
            yield pre + name + ".linear.weight", [rows, cols], "random"
            for bound, value in (("input_min", -100), ("input_max", 100), ("output_min", -100), ("output_max", 100)):
                yield pre + name + "." + bound, [], value
    yield "model.embed_vision.embedding_projection.weight", [TEXT_HIDDEN, d], "random"


def bf16_bytes(shape, init, rng):
    n = 1
    for s in shape:
        n *= s
    if init == "ones":
        return struct.pack("<H", 0x3F80) * n
    if init != "random":
        return struct.pack("<f", float(init))[2:] * n  # exact in bf16 for small integers
    # Random bf16 of magnitude 2^-8 .. 2^-6 with random sign: random low bytes, and high
    # bytes mapped to sign | exponent 0x3c (fast: bytes.translate, no per-element Python).
    raw = bytearray(rng.randbytes(2 * n))
    table = bytes(((b & 0x80) | 0x3C) for b in range(256))
    raw[1::2] = bytes(raw[1::2]).translate(table)
    return bytes(raw)


def main(folder):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(1234)
    header, offset, specs = {}, 0, list(tensors())
    for name, shape, _ in specs:
        size = 2 * max(1, eval("*".join(map(str, shape))) if shape else 1)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(folder, "model.safetensors"), "wb") as out:
        out.write(struct.pack("<Q", len(head)) + head)
        for name, shape, init in specs:
            out.write(bf16_bytes(shape, init, rng))
    config = {"architectures": ["Gemma4ForConditionalGeneration"], "model_type": "gemma4",
              "vision_config": VISION, "text_config": {"hidden_size": TEXT_HIDDEN}, "image_token_id": 258880,
              "boi_token_id": 255999, "eoi_token_id": 258882}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(folder, "processor_config.json"), "w") as f:
        json.dump(PROCESSOR, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/models/vision-random")
