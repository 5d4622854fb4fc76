"""How fast the encoder embeds images and texts on this machine (CPU).

Usage: python bench/encode_throughput.py [--model SPEC] [--batch-size N] [--json OUT]

Images are 60x80 product-like pictures already decoded in memory (PIL), so "images/s" includes
open_clip's preprocessing (resize, pad, normalise) but not JPEG decoding; "model only" feeds ready
tensors. "texts/s" includes tokenisation. Each figure is the best of a few timed repeats after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import report_header  # noqa: E402

COLOURS = ["black", "white", "navy blue", "red", "green", "grey", "pink", "beige", "brown", "olive"]
THINGS = ["tshirt", "shirt", "jeans", "dress", "sports shoes", "handbag", "watch", "kurta", "heels", "jacket"]


def product_like_images(n: int, seed: int = 0):
    """60x80 white pictures with a coloured garment-ish shape (what the catalog photos look like)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    images = []
    for _ in range(n):
        im = Image.new("RGB", (60, 80), (255, 255, 255))
        draw = ImageDraw.Draw(im)
        colour = tuple(rng.randrange(256) for _ in range(3))
        x0, y0 = rng.randrange(5, 20), rng.randrange(5, 25)
        draw.rectangle([x0, y0, rng.randrange(40, 56), rng.randrange(50, 76)], fill=colour)
        images.append(im)
    return images


def queries(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    forms = ["{c} {t}", "{c} {t} for men", "a photo of a {c} {t}", "women's {t} in {c}", "{t}"]
    return [rng.choice(forms).format(c=rng.choice(COLOURS), t=rng.choice(THINGS)) for _ in range(n)]


def best_rate(items: int, run: Callable[[], None], repeats: int) -> float:
    run()  # warm-up: first calls allocate and pick kernels
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return items / best


def measure(model: str | None, batch_size: int, n_images: int, n_texts: int, repeats: int) -> dict:
    import torch

    from fashrec.encoder import OpenClipEncoder

    encoder = OpenClipEncoder(model)
    images = product_like_images(n_images)
    texts = queries(n_texts)
    tensors = torch.stack([encoder.preprocess(im) for im in images])
    tokens = encoder.tokenizer(texts)

    def images_full() -> None:
        encoder.encode_images(images, batch_size=batch_size)

    def images_model_only() -> None:
        with torch.inference_mode():
            for s in range(0, n_images, batch_size):
                encoder.model.encode_image(tensors[s:s + batch_size])

    def texts_full() -> None:
        encoder.encode_texts(texts, batch_size=max(batch_size, 256))

    def texts_model_only() -> None:
        with torch.inference_mode():
            for s in range(0, n_texts, max(batch_size, 256)):
                encoder.model.encode_text(tokens[s:s + max(batch_size, 256)])

    return {
        "model": encoder.identifier,
        "dimension": encoder.dimension,
        "image_batch_size": batch_size,
        "text_batch_size": max(batch_size, 256),
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "images_per_second": round(best_rate(n_images, images_full, repeats), 1),
        "images_per_second_model_only": round(best_rate(n_images, images_model_only, repeats), 1),
        "texts_per_second": round(best_rate(n_texts, texts_full, repeats), 1),
        "texts_per_second_model_only": round(best_rate(n_texts, texts_model_only, repeats), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="encoder spec (default: fashrec-mini)")
    parser.add_argument("--batch-size", type=int, default=64, help="image batch size (texts: max(this, 256))")
    parser.add_argument("--images", type=int, default=1024, help="images per timed pass")
    parser.add_argument("--texts", type=int, default=4096, help="texts per timed pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    info = report_header("Encoder throughput", ("numpy", "torch", "open_clip_torch", "pillow"))
    result = measure(args.model, args.batch_size, args.images, args.texts, args.repeats)
    print(f"encoder {result['model']} (dim {result['dimension']}), {result['threads']} torch threads, "
          f"{result['cpu_count']} CPUs")
    rows = [
        (f"images/s (decoded 60x80 PIL, incl. preprocessing), batch {result['image_batch_size']}",
         result["images_per_second"]),
        (f"images/s (model only), batch {result['image_batch_size']}", result["images_per_second_model_only"]),
        (f"texts/s (incl. tokenisation), batch {result['text_batch_size']}", result["texts_per_second"]),
        (f"texts/s (model only), batch {result['text_batch_size']}", result["texts_per_second_model_only"]),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value:>9,.0f}")
    if args.json:
        args.json.write_text(json.dumps({**result, "machine": info}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
