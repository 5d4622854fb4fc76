"""Catalog layer: opening images safely: every photo fashrec touches goes through :func:`load_rgb`.

Catalog images and user photos come from anywhere, so this is where truncated files, decompression
bombs, CMYK/palette/alpha modes and files that are not images at all become one clear
:class:`ImageError` instead of a crash deep inside the encoder.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import warnings
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

from fashrec.errors import ImageError

# Anything above this many pixels is refused before decoding (a 20000x20000 PNG bomb would need
# over a gigabyte of RAM). 64 MP still admits every real product photo.
MAX_PIXELS = 64_000_000
# A side more than this many times the other: a strip, not a photo (and no encoder can scale it).
MAX_ASPECT = 20
# Bigger files than this are not product photos; refusing them early keeps hashing cheap.
MAX_FILE_BYTES = 64 * 1024 * 1024

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

REMOTE_PREFIXES = ("http://", "https://", "ftp://", "s3://", "gs://")


def is_remote(ref: str) -> bool:
    return ref.strip().lower().startswith(REMOTE_PREFIXES)


def file_digest(path: Path) -> str:
    """Content hash of an image file (sha256 hex), used to notice changed images on re-index."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_image_file(path: Path) -> None:
    """Cheap validation without a full decode: exists, regular file, sane size, recognisable header."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ImageError(_unreachable(path, exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(f"image is not a regular file: {path}")
    if info.st_size == 0:
        raise ImageError(f"image is empty (0 bytes): {path}")
    if info.st_size > MAX_FILE_BYTES:
        raise ImageError(f"image is too large ({info.st_size} bytes > {MAX_FILE_BYTES}): {path}")


def _unreachable(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot even be looked at, in words that send people to the right problem."""
    if exc.errno == errno.ENAMETOOLONG:
        longest = max(len(part.encode("utf-8", "surrogateescape")) for part in path.parts)
        shown = str(path) if len(str(path)) <= 120 else f"{str(path)[:100]}...{str(path)[-16:]}"
        return (f"image path is too long for the file system ({len(str(path).encode('utf-8', 'surrogateescape'))} "
                f"bytes, longest name {longest}; at most 4096 and 255): {shown}")
    if exc.errno == errno.ELOOP:
        return f"image is a symbolic link loop (links that point at each other): {path}"
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):  # "not found" would send people looking for a file that is right there
            return f"image is a broken symbolic link: {path} -> {os.readlink(path)} (target missing)"
        return f"image not found: {path}"
    return f"image cannot be read: {path} ({exc.strerror or exc})"


def load_rgb(path: str | Path, *, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Decode an image fully and return it as RGB.

    Transparent pixels are composited on ``background`` (white, like catalog product shots) rather than
    turned black, and CMYK / palette / 16-bit modes are converted.
    """
    path = Path(path)
    check_image_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ImageError(
                        f"image has {im.width}x{im.height} pixels, more than the {MAX_PIXELS} allowed: {path}"
                    )
                if max(im.size) > MAX_ASPECT * min(im.size):
                    # Scaled to an encoder's input, the short side would round to no pixels at all.
                    raise ImageError(f"image is {im.width}x{im.height} pixels: one side is more than "
                                     f"{MAX_ASPECT} times the other, not a product photo: {path}")
                im.load()
                return to_rgb(im, background)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image refused as a decompression bomb: {path} ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"not an image (unrecognised format): {path}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"image is corrupt or truncated: {path} ({exc})") from exc


def to_rgb(im: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    if im.mode == "RGB":
        return im.copy()
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA")
    if im.mode in ("LA", "La"):
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "RGBa"):
        canvas = Image.new("RGB", im.size, background)
        canvas.paste(im, mask=im.getchannel("A"))
        return canvas
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale into 8 bits before the RGB conversion, which would clip.
        im = im.point(lambda v: v / 256).convert("L")
    return im.convert("RGB")
