"""The shopper's page in a real headless Chromium against a real `fashrec serve` process.

A shopper uploads a photo, asks "but in linen", sees tiles with prices, corrects what was read from the
photo, takes a second turn, undoes it and opens "complete the look". Each step is saved as a screenshot
(``$FASHREC_TEST_ARTIFACTS``, default ``test-artifacts/page`` in the checkout) for a person to look at.
Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and selenium (test extra).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
# CI (.ci/run sets CI=true and installs the browser) must run these tests: there a missing browser fails the
# run instead of skipping, so the page is never "tested" by a skip nobody reads.
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: the page tests cannot run", pytrace=False)
    pytest.skip(f"{reason}; .ci/run installs it, and under CI=true this fails instead", allow_module_level=True)


try:
    from selenium import webdriver
except ImportError:
    _unavailable("selenium (the test extra: pip install -e '.[test]') is not installed")
if not CHROMIUM:
    _unavailable("no system Chromium (apt-get install chromium chromium-driver)")
if not DRIVER:
    _unavailable("no chromedriver (apt-get install chromium-driver)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1100"]


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="fashrec-chromium-")
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def shots():
    folder = Path(os.environ.get("FASHREC_TEST_ARTIFACTS") or REPO / "test-artifacts") / "page"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_for_turn(browser, n: int, timeout: int = 90) -> None:
    WebDriverWait(browser, timeout).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#turn-list li")) == n and not b.find_element(By.ID, "go")
        .get_attribute("disabled"))


def no_error(browser) -> None:
    error = browser.find_element(By.ID, "error")
    assert not error.is_displayed(), error.text


def search_from_the_page(browser, server: str, words: str, tiles: str) -> None:
    """A search typed on a fresh page, without a photo, waited for until ``tiles`` (a CSS selector) show."""
    browser.get(server + "/")
    browser.find_element(By.ID, "wish").send_keys(words)
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, tiles))
    no_error(browser)


def test_a_shopper_refines_a_photo_turn_by_turn(server, browser, shots):
    browser.get(server + "/")
    assert "fashrec" in browser.title
    assert browser.find_element(By.ID, "drop").is_displayed()
    browser.save_screenshot(str(shots / "1-page.png"))

    # upload an anchor: the page shows what it read from the photo and the closest products
    browser.find_element(By.ID, "file").send_keys(str(REPO / "examples/anchors/white-cotton-shirt.jpg"))
    wait_for_turn(browser, 1)
    no_error(browser)
    chips = browser.find_elements(By.CSS_SELECTOR, "#anchor-chips .chip")
    assert {c.get_attribute("data-attribute") for c in chips} >= {"category", "color"}
    assert browser.find_element(By.ID, "anchor-photo").is_displayed()
    browser.save_screenshot(str(shots / "2-anchor.png"))

    # "but in linen": tiles with photos, prices and a reason; the understood request at the top
    wish = browser.find_element(By.ID, "wish")
    wish.send_keys("but in linen")
    browser.find_element(By.ID, "go").click()
    wait_for_turn(browser, 2)
    no_error(browser)
    plan = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#plan-chips .chip")]
    assert "material: linen" in plan
    tiles = browser.find_elements(By.CSS_SELECTOR, "#grid .tile")
    assert tiles, "no result tiles"
    for tile in tiles:
        assert tile.find_element(By.CSS_SELECTOR, ".price").text.strip()
        assert tile.find_element(By.CSS_SELECTOR, ".stock").text in ("In stock", "Out of stock", "Stock not listed")
        assert "linen" in tile.find_element(By.CSS_SELECTOR, ".why").text
    prices = [t.find_element(By.CSS_SELECTOR, ".price").text for t in tiles]
    assert any(any(ch.isdigit() for ch in p) for p in prices), prices
    assert browser.execute_script("return [...document.querySelectorAll('#grid img')].every(i => i.complete "
                                  "&& i.naturalWidth > 0)")
    browser.save_screenshot(str(shots / "3-linen.png"))

    # correct what was read: the category becomes "dress", as --anchor category=dress would
    chip = browser.find_element(By.CSS_SELECTOR, '#anchor-chips .chip[data-attribute="category"]')
    chip.click()
    Select(chip.find_element(By.TAG_NAME, "select")).select_by_value("dress")
    wait_for_turn(browser, 3)
    no_error(browser)
    fixed = browser.find_element(By.CSS_SELECTOR, '#anchor-chips .chip[data-attribute="category"]')
    assert "dress" in fixed.text and "corrected" in fixed.get_attribute("class")
    # every product shown, match or labelled alternative, is now a dress
    titles = browser.execute_script("return [...document.querySelectorAll('#grid .tile-title, #alt-grid .tile-title')]"
                                    ".map(t => t.textContent.toLowerCase())")
    assert titles and all("dress" in t for t in titles), titles
    browser.save_screenshot(str(shots / "4-corrected.png"))

    # a second wish in the same conversation keeps linen and the correction
    wish = browser.find_element(By.ID, "wish")
    wish.send_keys("not red")
    browser.find_element(By.ID, "go").click()
    wait_for_turn(browser, 4)
    no_error(browser)
    plan = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#plan-chips .chip")]
    assert "material: linen" in plan and "color: not red" in plan, plan
    browser.save_screenshot(str(shots / "5-second-turn.png"))

    # undo goes back one step
    browser.find_element(By.ID, "undo").click()
    wait_for_turn(browser, 3)
    plan = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#plan-chips .chip")]
    assert "color: not red" not in plan

    # complete the look for a result
    browser.find_element(By.CSS_SELECTOR, ".tile .look-button").click()
    WebDriverWait(browser, 90).until(EC.visibility_of_element_located((By.ID, "look")))
    no_error(browser)
    outfits = browser.find_elements(By.CSS_SELECTOR, "#look .outfit")
    assert outfits and all(len(o.find_elements(By.CSS_SELECTOR, ".piece")) >= 2 for o in outfits)
    browser.save_screenshot(str(shots / "6-complete-the-look.png"))
    browser.find_element(By.ID, "look-close").click()
    assert not browser.find_element(By.ID, "look").is_displayed()


def test_without_a_photo_a_search_result_starts_the_conversation(server, browser, shots):
    search_from_the_page(browser, server, "red dress", "#grid .tile")
    first = browser.find_element(By.CSS_SELECTOR, "#grid .tile")
    product = first.get_attribute("data-id")
    first.find_element(By.CSS_SELECTOR, ".more").click()
    wait_for_turn(browser, 1)
    no_error(browser)
    assert browser.find_element(By.ID, "anchor-photo").get_attribute("src").endswith(f"/images/{product}?size=384")
    assert product not in [t.get_attribute("data-id") for t in browser.find_elements(By.CSS_SELECTOR, "#grid .tile")]
    browser.save_screenshot(str(shots / "7-from-search.png"))


def test_a_search_with_no_exact_match_says_so_and_shows_the_near_misses_apart(server, browser, shots):
    # Issue 11: the example shop has no red linen shirt; the page says so, with what each way forward
    # would yield, and shows the near misses under their own heading, each saying what it lacks.
    search_from_the_page(browser, server, "red linen shirt", "#alt-grid .tile")
    assert browser.find_elements(By.CSS_SELECTOR, "#grid .tile") == []
    assert browser.find_element(By.ID, "matches-title").text == "No exact matches"
    short = browser.find_element(By.ID, "shortfall-text").text
    assert browser.find_element(By.ID, "shortfall").is_displayed() and short.startswith("No red linen shirts.")
    assert "if you drop red" in short
    lacks = [t.find_element(By.CSS_SELECTOR, ".lacks").text for t in browser.find_elements(By.CSS_SELECTOR, "#alt-grid .tile")]
    assert lacks and all(text.startswith("Lacks ") for text in lacks), lacks
    browser.save_screenshot(str(shots / "8-search-alternatives.png"))


def test_what_was_given_up_of_the_piece_is_said_above_the_results(server, browser, shots):
    # The example shop has one linen shirt for men, and it is neither light blue nor striped: to answer
    # "but in linen" for the light blue striped shirt the loop gives up its colour and pattern. The page
    # says so once above the results (a tile can only say what its product is known to lack).
    browser.get(server + "/")
    browser.find_element(By.ID, "file").send_keys(str(REPO / "examples/images/sku-1012.jpg"))
    wait_for_turn(browser, 1)
    browser.find_element(By.ID, "wish").send_keys("but in linen")
    browser.find_element(By.ID, "go").click()
    wait_for_turn(browser, 2)
    no_error(browser)
    notes = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#plan-notes li")]
    relaxed = [n for n in notes if n.startswith("Relaxed: your piece's ")]
    assert relaxed and "color light blue" in relaxed[0] and "pattern striped" in relaxed[0], notes
    lacks = [t.find_element(By.CSS_SELECTOR, ".lacks").text for t in browser.find_elements(By.CSS_SELECTOR, "#grid .tile")]
    assert "Unlike your piece: not light blue, not striped" in lacks, lacks
    browser.save_screenshot(str(shots / "9-relaxed.png"))


def test_a_bad_photo_is_explained_on_the_page(server, browser, tmp_path):
    browser.get(server + "/")
    fake = tmp_path / "holiday.png"
    fake.write_bytes(b"this is not really a png")
    # the page refuses non-images itself; a file that claims to be one reaches the server's safe loader
    browser.find_element(By.ID, "file").send_keys(str(fake))
    WebDriverWait(browser, 30).until(EC.visibility_of_element_located((By.ID, "error")))
    assert "not an image" in browser.find_element(By.ID, "error").text


def test_what_the_photo_left_unclear_is_asked_and_answered_with_a_click(asking_server, browser, shots):
    """`fashrec serve --ask-below 1.01` asks about every identity attribute read from the photo; choosing
    a value is a correction, after which the page no longer asks about it."""
    browser.get(asking_server + "/")
    browser.find_element(By.ID, "file").send_keys(str(REPO / "examples/anchors/white-cotton-shirt.jpg"))
    wait_for_turn(browser, 1)
    no_error(browser)
    questions = browser.find_elements(By.CSS_SELECTOR, "#unsure li")
    assert questions and browser.find_element(By.ID, "unsure").is_displayed()
    asked = {q.get_attribute("data-attribute") for q in questions}
    assert "category" in asked, asked
    browser.save_screenshot(str(shots / "8-questions.png"))
    question = browser.find_element(By.CSS_SELECTOR, '#unsure li[data-attribute="category"]')
    answers = question.find_elements(By.CSS_SELECTOR, "button.answer")
    assert answers and all("%" in a.text for a in answers)
    chosen = answers[-1].text.split(" (")[0]   # the least likely value offered: a real change
    answers[-1].click()
    wait_for_turn(browser, 2)
    no_error(browser)
    fixed = browser.find_element(By.CSS_SELECTOR, '#anchor-chips .chip[data-attribute="category"]')
    assert chosen in fixed.text and "corrected" in fixed.get_attribute("class")
    assert not browser.find_elements(By.CSS_SELECTOR, '#unsure li[data-attribute="category"]')
