// fashrec's shopper page: a little plain JavaScript over the server's own API (nothing from elsewhere).
// Every request is the same document the command line takes; every answer is the command's --json.
"use strict";

const K = 12;
const state = {
  session: newSessionName(),
  file: null,            // the photo the conversation started from (until a result becomes the anchor)
  fileUrl: null,
  corrections: {},       // attribute -> value the shopper corrected in what was read from the anchor
  history: [],           // the answers of this conversation's turns, oldest first (undo pops one)
  vocabulary: null,
  busy: false,
};

const $ = (id) => document.getElementById(id);

function newSessionName() {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// --- talking to the server -------------------------------------------------------------------------

async function call(path, body, file) {
  let options;
  if (file) {
    const form = new FormData();
    form.append("image", file, file.name || "photo");
    form.append("request", JSON.stringify(body));
    options = { method: "POST", body: form };
  } else if (body !== undefined) {
    options = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  } else {
    options = { method: "GET" };
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: "internal", message: "the server sent no JSON" }));
  if (!response.ok) {
    throw new Error(data.message + (data.hint ? " (" + data.hint + ")" : ""));
  }
  return data;
}

async function busy(message, work) {
  if (state.busy) return;
  state.busy = true;
  $("go").disabled = true;
  $("error").hidden = true;
  $("status").textContent = message;
  try {
    await work();
    $("status").textContent = "";
  } catch (err) {
    $("status").textContent = "";
    $("error").textContent = err.message;
    $("error").hidden = false;
  } finally {
    state.busy = false;
    $("go").disabled = false;
  }
}

// --- turns of the conversation ---------------------------------------------------------------------

function turnRequest(extra) {
  const request = { session: state.session, k: K, text: $("wish").value.trim(), ...extra };
  if (Object.keys(state.corrections).length) request.anchor = { ...state.corrections };
  return request;
}

function ask() {
  const text = $("wish").value.trim();
  if (!state.history.length && !state.file) {
    if (!text) return showError("Drop a photo, or type what you are looking for.");
    return busy("Looking…", async () => showSearch(await call("/search", { text, k: K })));
  }
  if (!state.history.length) return startFromFile();
  if (!text) return showError("Say what should be different, for example “but in linen”.");
  return busy("Refining…", async () => addTurn(await call("/refine", turnRequest({}))));
}

function startFromFile() {
  return busy("Reading your photo…", async () => addTurn(await call("/refine", turnRequest({}), state.file)));
}

function startFromProduct(id) {
  state.corrections = {};
  state.session = newSessionName();
  state.history = [];
  return busy("Starting from this piece…", async () => addTurn(await call("/refine", turnRequest({ id, text: "" }))));
}

function pick(rank) {
  state.corrections = {};
  return busy("Starting from this piece…", async () => addTurn(await call("/refine",
    { session: state.session, k: K, pick: rank, text: "" })));
}

function correct(attribute, value) {
  state.corrections[attribute] = value;
  return busy("Correcting…", async () => addTurn(await call("/refine",
    { session: state.session, k: K, text: "", anchor: { ...state.corrections } })));
}

function undo() {
  if (state.history.length < 2) return restart();
  return busy("Going back…", async () => {
    await call("/sessions/" + encodeURIComponent(state.session) + "/undo", {});
    state.history.pop();
    render(state.history[state.history.length - 1]);
  });
}

function restart() {
  state.session = newSessionName();
  state.history = [];
  state.corrections = {};
  state.file = null;
  $("wish").value = "";
  showAnchorPhoto(null);
  for (const id of ["reading", "understood", "turns", "matches", "alternatives", "shortfall", "error"]) $(id).hidden = true;
}

function addTurn(answer) {
  state.history.push(answer);
  $("wish").value = "";
  render(answer);
}

// --- drawing an answer ---------------------------------------------------------------------------

function render(answer) {
  const anchor = answer.anchor;
  if (anchor.catalog_id && !(state.file && answer.session && answer.session.anchor.kind === "image")) {
    showAnchorPhoto(imageUrl(anchor.catalog_id, 384));
  } else if (state.fileUrl) {
    showAnchorPhoto(state.fileUrl);
  }
  renderAnchor(anchor, answer.assumptions);
  renderUnsure(answer.unsure || []);
  renderPlan(answer);
  renderTurns();
  const { exact, alternatives } = splitResults(answer);
  fillGrid($("grid"), exact, answer, true);
  $("matches").hidden = !exact.length;
  $("matches-title").textContent = "Matches";
  fillGrid($("alt-grid"), alternatives, answer, true);
  $("alternatives").hidden = !alternatives.length;
  const short = shortfall(answer, exact.length);
  $("shortfall").hidden = !short;
  $("shortfall-text").textContent = short || "";
}

function splitResults(answer) {
  // Results have everything the shopper said (some may differ from the anchor in its look, and say so);
  // near misses, which lack something that was said, come apart as "alternatives".
  return { exact: answer.results || [], alternatives: Array.isArray(answer.alternatives) ? answer.alternatives : [] };
}

function shortfall(answer, exactCount) {
  const short = answer.shortfall;
  if (short) {
    // Only ways that add something are offered (an older answer has no "useful": any that finds some).
    const options = (short.options || []).filter((o) => ("useful" in o ? o.useful : o.count))
      .map((o) => o.message).filter(Boolean);
    const more = options.length ? " Instead: " + options.join("; ") + "."
      : (short.options || []).some((o) => o.count) ? " Giving up any one constraint would find nothing more." : "";
    return sentence(short.message) + more;
  }
  const k = (answer.query && answer.query.k) || K;
  if (exactCount >= k) return "";
  return exactCount
    ? `Only ${exactCount} product${exactCount === 1 ? " has" : "s have"} everything you asked for.`
    : "Nothing in the catalog has everything you asked for.";
}

function relaxedLabel(result, answer) {
  // What a product does not share with the anchor, or lacks of what was asked, in words.
  if (Array.isArray(result.lacks) && result.lacks.length) {
    const instead = Object.entries(result.instead || {}).map(([a, v]) => `${label(a)} ${v}`);
    return "Lacks " + result.lacks.join(", ") + (instead.length ? " (has " + instead.join(", ") + ")" : "");
  }
  let given = Array.isArray(result.not_kept) ? result.not_kept : [];
  if (!given.length) {   // older answers: the keeps the loop gave up (steps "relax"), where this product differs
    given = (answer.steps || []).filter((s) => s.action === "relax" && s.number <= (result.tier || 1))
      .flatMap((s) => s.detail.replace("stop requiring the anchor's ", "").split(", "))
      .filter((kv) => { const [a, v] = kv.split("="); return String((result.attributes || {})[a]) !== v; });
  }
  return given.length ? "Unlike your piece: " + given.map(unlike).join(", ") : "";
}

function relaxedNotes(answer) {
  // What the loop gave up of the anchor's look to find more, said once above the results: a product whose
  // catalog row does not list the attribute cannot say on its tile that it lacks it (the CLI says the same).
  const given = (answer.assumptions || []).filter((a) => a.use === "relaxed");
  if (!given.length) return [];
  const values = given.map((a) => `${label(a.attribute)} ${a.value}`).join(", ");
  return [`Relaxed: your piece's ${values} (too few matches had ${given.length === 1 ? "it" : "them"}), ` +
          "so results may differ there."];
}

function unlike(pair) {   // "color=white" -> "not white"; "gender=men" -> "not for men"
  const [attribute, value] = pair.split("=");
  if (attribute === "gender") return "not for " + value;
  if (attribute === "sleeve") return `not ${value} sleeves`;
  return "not " + value;
}

function sentence(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".") : ""; }

function showAnchorPhoto(url) {
  const img = $("anchor-photo");
  img.hidden = !url;
  if (url) img.src = url;
  $("drop").classList.toggle("has-photo", !!url);
}

function renderAnchor(anchor, assumptions) {
  const list = $("anchor-chips");
  list.replaceChildren();
  const used = Object.fromEntries((assumptions || []).map((a) => [a.attribute, a]));
  for (const [attribute, guess] of Object.entries(anchor.attributes || {})) {
    const chip = document.createElement("li");
    chip.className = "chip editable";
    if (guess.source === "shopper") chip.classList.add("corrected");
    else if (guess.confidence < 0.5) chip.classList.add("unsure");
    chip.dataset.attribute = attribute;
    chip.title = guess.source === "shopper" ? "You corrected this"
      : `${Math.round(guess.confidence * 100)}% sure (${guess.source}): click to correct`;
    if (used[attribute] && used[attribute].reason) chip.title += " · " + used[attribute].reason;
    chip.append(span("name", label(attribute) + ": "), span("value", guess.value));
    chip.addEventListener("click", () => editChip(chip, attribute, guess.value), { once: true });
    list.append(chip);
  }
  $("reading").hidden = !list.children.length;
}

function renderUnsure(unsure) {
  // What the photo left unclear, as refine asks it: the likeliest values are one click away (a correction).
  const list = $("unsure");
  list.replaceChildren();
  for (const u of unsure) {
    const li = document.createElement("li");
    li.dataset.attribute = u.attribute;
    const options = [...u.options].sort((a, b) => b.confidence - a.confidence);
    li.append(span("question", u.kept ? `Is the ${label(u.attribute)} ${u.options[0].value}? `
                                      : `Which ${label(u.attribute)}? We could not tell, so results may be any: `));
    for (const o of options) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "answer";
      b.textContent = `${o.value} (${Math.round(o.confidence * 100)}%)`;
      b.addEventListener("click", () => correct(u.attribute, o.value));
      li.append(b);
    }
    list.append(li);
  }
  list.hidden = !unsure.length;
}

function editChip(chip, attribute, current) {
  const values = Object.keys((state.vocabulary || {})[attribute] || {});
  const select = document.createElement("select");
  select.setAttribute("aria-label", "Correct " + label(attribute));
  for (const value of values.length ? values : [current]) {
    const option = new Option(value, value, false, value === current);
    select.append(option);
  }
  chip.replaceChildren(span("name", label(attribute) + ": "), select);
  select.focus();
  select.addEventListener("change", () => correct(attribute, select.value));
}

function renderPlan(answer) {
  const plan = answer.plan || {};
  const list = $("plan-chips");
  list.replaceChildren();
  const add = (kind, text) => { const li = document.createElement("li"); li.className = "chip " + kind; li.textContent = text; list.append(li); };
  for (const [a, v] of Object.entries(plan.set || {})) add("want", `${label(a)}: ${v}`);
  for (const [a, vs] of Object.entries(plan.exclude || {})) add("not", `${label(a)}: not ${vs.join(", ")}`);
  for (const wish of plan.relative || []) add("want", wish);
  const price = plan.price || {};
  if (price.min != null) add("want", `price from ${price.min}`);
  if (price.max != null) add("want", `price up to ${price.max}`);
  const read = (answer.anchor && answer.anchor.attributes) || {};
  for (const a of plan.keep || []) add("keep", read[a] ? `keep ${label(a)}: ${read[a].value}` : `keep the ${label(a)}`);
  for (const a of plan.drop || []) add("keep", `any ${label(a)}`);
  if (!list.children.length) add("keep", "nothing to change: more like this piece");
  const notes = $("plan-notes");
  notes.replaceChildren();
  const relative = (answer.relative && answer.relative.notes) || [];
  for (const note of [...relative, ...(plan.notes || []), ...relaxedNotes(answer)]) {
    const li = document.createElement("li"); li.textContent = note; notes.append(li);
  }
  $("understood").hidden = false;
}

function renderTurns() {
  const list = $("turn-list");
  list.replaceChildren();
  state.history.forEach((answer, i) => {
    const li = document.createElement("li");
    const turn = answer.session || {};
    const words = answer.query.text ? `“${answer.query.text}”`
      : { start: "your piece", pick: "from a result", refine: "corrected" }[turn.action] || "your piece";
    li.textContent = `${i + 1}. ${words}`;
    if (i === state.history.length - 1) li.className = "current";
    list.append(li);
  });
  $("turns").hidden = !state.history.length;
}

function showSearch(answer) {
  state.history = [];
  renderTurns();
  $("reading").hidden = true;
  const understood = answer.query.understood;
  if (understood) renderPlan({ plan: { ...understood, relative: [], keep: [], drop: [] } });
  // Results hold only exact matches; near misses come apart, as refine's do, each saying what it lacks.
  const { exact, alternatives } = splitResults(answer);
  fillGrid($("grid"), exact, null, false);
  fillGrid($("alt-grid"), alternatives, answer, false);
  $("matches").hidden = false;
  $("matches-title").textContent = exact.length ? "Matches: pick one to start from" : "No exact matches";
  $("alternatives").hidden = !alternatives.length;
  const short = answer.shortfall ? shortfall(answer, exact.length) : "";
  $("shortfall").hidden = !short;
  $("shortfall-text").textContent = short;
}

function fillGrid(grid, results, answer, inSession) {
  grid.replaceChildren(...results.map((r) => tile(r, answer, inSession)));
}

function tile(result, answer, inSession) {
  const node = $("tile").content.firstElementChild.cloneNode(true);
  node.dataset.id = result.id;
  const img = node.querySelector("img");
  img.src = imageUrl(result.id, 256);
  img.alt = result.title || result.id;
  node.querySelector(".tile-title").textContent = result.title || result.id;
  node.querySelector(".price").textContent = formatPrice(result.price, result.currency);
  const stock = node.querySelector(".stock");
  stock.textContent = result.in_stock === false ? "Out of stock" : result.in_stock ? "In stock" : "Stock not listed";
  stock.classList.toggle("out", result.in_stock === false);
  stock.classList.toggle("unknown", result.in_stock == null);
  node.querySelector(".why").textContent = result.why || "";
  const lacks = answer ? relaxedLabel(result, answer) : "";
  node.querySelector(".lacks").textContent = lacks;
  node.querySelector(".lacks").hidden = !lacks;
  const rank = answer ? answer.results.indexOf(result) + 1 : 0;
  const makeAnchor = () => (inSession && rank > 0 ? pick(rank) : startFromProduct(result.id));
  node.querySelector(".tile-photo").addEventListener("click", makeAnchor);
  node.querySelector(".more").addEventListener("click", makeAnchor);
  node.querySelector(".look-button").addEventListener("click", () => completeTheLook(result));
  return node;
}

// --- complete the look ---------------------------------------------------------------------------

function completeTheLook(result) {
  return busy("Putting outfits together…", async () => {
    const answer = await call("/outfit", { id: result.id, n: 3 });
    $("look-intro").textContent = `Outfits built around “${result.title || result.id}” for ${answer.anchor.occasion || "any occasion"}.`;
    const body = $("look-body");
    body.replaceChildren();
    answer.outfits.forEach((outfit, i) => body.append(outfitBlock(outfit, i, result)));
    if (!answer.outfits.length) body.textContent = "No outfit could be put together from this catalog.";
    $("look").hidden = false;
    $("look-close").focus();
  });
}

function outfitBlock(outfit, i, anchor) {
  const block = document.createElement("section");
  block.className = "outfit";
  const title = document.createElement("h3");
  const reasons = (outfit.reasons || []).map((r) => r.text || r.reason || r.detail || "").filter(Boolean);
  title.textContent = `Outfit ${i + 1}` + (reasons.length ? ": " + reasons.slice(0, 2).join("; ") : "");
  const pieces = document.createElement("div");
  pieces.className = "pieces";
  pieces.append(piece({ ...anchor, slot: "your piece" }, true));
  for (const p of outfit.pieces) pieces.append(piece(p, false));
  block.append(title, pieces);
  return block;
}

function piece(p, isAnchor) {
  const card = document.createElement("div");
  card.className = "piece" + (isAnchor ? " anchor" : "");
  const img = document.createElement("img");
  img.src = imageUrl(p.id, 192);
  img.alt = p.title || p.id;
  card.append(span("slot", p.slot + (p.optional ? " (optional)" : "")), img,
              div("tile-title", p.title || p.id), div("price", formatPrice(p.price, p.currency)));
  if (p.why && !isAnchor) card.append(div("why", p.why));
  return card;
}

// --- small helpers ------------------------------------------------------------------------------

function imageUrl(id, size) { return "/images/" + encodeURIComponent(id) + "?size=" + size; }
function label(attribute) { return attribute.replace(/_/g, " "); }
function span(cls, text) { const s = document.createElement("span"); s.className = cls; s.textContent = text; return s; }
function div(cls, text) { const d = document.createElement("div"); d.className = cls; d.textContent = text; return d; }
function showError(message) { $("error").textContent = message; $("error").hidden = false; }

function formatPrice(price, currency) {
  if (price == null) return "Price not listed";
  try {
    if (currency) return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(price);
  } catch (err) { /* an unknown currency code: show it as written */ }
  return price.toFixed(2) + (currency ? " " + currency : "");
}

function choose(file) {
  if (!file) return;
  if (!file.type.startsWith("image/")) return showError("That file is not a photo.");
  if (state.fileUrl) URL.revokeObjectURL(state.fileUrl);
  state.session = newSessionName();
  state.history = [];
  state.corrections = {};
  state.file = file;
  state.fileUrl = URL.createObjectURL(file);
  showAnchorPhoto(state.fileUrl);
  startFromFile();
}

function wire() {
  $("wish-form").addEventListener("submit", (e) => { e.preventDefault(); ask(); });
  $("file").addEventListener("change", (e) => choose(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); choose(e.dataTransfer.files[0]); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter") $("file").click(); });
  $("undo").addEventListener("click", undo);
  $("restart").addEventListener("click", restart);
  $("look-close").addEventListener("click", () => { $("look").hidden = true; });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") $("look").hidden = true; });
  call("/vocabulary").then((v) => { state.vocabulary = v; }).catch(() => {});
}

document.addEventListener("DOMContentLoaded", wire);
