"""Redraw docs/serve-page.png, the README's picture of the shopper's page, from the drawn example shop.

    python examples/page_screenshot.py [--index catalog.example.fashrec-index] [--out docs/serve-page.png]

Starts `fashrec serve` on a free loopback port, drives the system Chromium (Debian's chromium +
chromium-driver, with selenium) through an upload of examples/anchors/white-cotton-shirt.jpg and
"but in linen", and saves a small palette PNG of the page. Only drawn images appear: never real photos.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1180,980", "--hide-scrollbars"]


def start(index: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tempfile.mkdtemp(prefix="fashrec-shot-home-")
    proc = subprocess.Popen([sys.executable, "-m", "fashrec", "serve", "--index", str(index), "--port", str(port)],
                            env={**os.environ, "FASHREC_HOME": home}, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                if json.load(answer)["status"] == "ok":
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start")


def shoot(url: str) -> bytes:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = Options()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp(prefix="fashrec-shot-chromium-")
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(url + "/")
        driver.find_element(By.ID, "file").send_keys(str(REPO / "examples/anchors/white-cotton-shirt.jpg"))
        turns = lambda n: lambda d: len(d.find_elements(By.CSS_SELECTOR, "#turn-list li")) == n  # noqa: E731
        WebDriverWait(driver, 120).until(turns(1))
        driver.find_element(By.ID, "wish").send_keys("but in linen")
        driver.find_element(By.ID, "go").click()
        WebDriverWait(driver, 120).until(turns(2))
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "return [...document.images].every(i => i.complete)"))
        return driver.get_screenshot_as_png()
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=REPO / "catalog.example.fashrec-index")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "serve-page.png")
    parser.add_argument("--width", type=int, default=900)
    args = parser.parse_args()
    proc, url = start(args.index)
    try:
        png = shoot(url)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((args.width, round(image.height * args.width / image.width)), Image.LANCZOS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
