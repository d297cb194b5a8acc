#!/usr/bin/env python3
"""Writes bench/photo_640x480.png: a synthetic landscape (sky, sun, hills, lake, trees) that
looks roughly like a photo, for the vision benchmark. Standard library only; deterministic."""
import math
import struct
import sys
import zlib

W, H = 640, 480


def pixel(x, y):
    horizon = 250 + 30 * math.sin(x / 90.0) + 12 * math.sin(x / 23.0 + 1.3)
    lake = 360 + 6 * math.sin(x / 40.0)
    if y < horizon:  # sky: blue gradient, a sun with a halo, a few soft clouds
        t = y / horizon
        r, g, b = 90 + 120 * t, 150 + 80 * t, 235 - 20 * t
        d = math.hypot(x - 480, y - 90)
        glow = max(0.0, 1 - d / 160) ** 2
        r, g, b = r + 120 * glow, g + 100 * glow, b + 40 * glow
        if d < 34:
            r, g, b = 255, 244, 200
        cloud = math.sin(x / 37.0 + y / 19.0) * math.sin(x / 53.0 - y / 11.0)
        if cloud > 0.55 and y < 170:
            k = (cloud - 0.55) * 2.2
            r, g, b = r + (250 - r) * k, g + (250 - g) * k, b + (252 - b) * k
    elif y < lake:  # hills: greens with shading and tree bumps
        depth = (y - horizon) / max(1.0, lake - horizon)
        shade = 0.75 + 0.25 * math.sin(x / 15.0 + y / 7.0)
        r, g, b = (40 + 50 * depth) * shade, (110 + 60 * depth) * shade, (40 + 20 * depth) * shade
        if (x // 29) % 3 == 0 and y < horizon + 40 and abs((x % 29) - 14) < (y - horizon) / 3:
            r, g, b = 25, 70, 30
    else:  # lake: reflection of the sky, darker, with ripples
        ripple = 0.85 + 0.15 * math.sin(y * 0.9 + math.sin(x / 13.0) * 2)
        t = (y - lake) / (H - lake)
        r, g, b = (70 - 30 * t) * ripple, (120 - 30 * t) * ripple, (180 - 40 * t) * ripple
    n = ((x * 7 + y * 3) % 5 - 2) if y >= lake else 0  # a little texture on the water
    return [max(0, min(255, int(v + n))) for v in (r, g, b)]


def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def main(path):
    rows = bytearray()
    for y in range(H):
        rows.append(0)
        for x in range(W):
            rows.extend(pixel(x, y))
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
    png += png_chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/photo_640x480.png")
