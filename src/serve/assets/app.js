// dcgan explorer: the page's script. Plain JavaScript, no build step, no network beyond the
// server that sent it. Every view lives in the URL's hash (seed, images, class, pinned
// vectors), so a view can be shared.
"use strict";

const GAP = 2;   // pixels between images in the server's grids
const SCALE = 2; // pixel magnification of every picture

const state = {
  info: null,
  seed: 0,
  n: 64,
  cls: "",
  pins: [],       // {seed, index, vector, edits: Map(dimension -> value), along: [amounts]}
  selected: -1,
  directions: null, // the server's principal directions, fetched on first use
};

const $ = (id) => document.getElementById(id);

function columnsFor(n) { return Math.ceil(Math.sqrt(n)); }

function sampleUrl() {
  let url = `/api/sample?seed=${state.seed}&n=${state.n}&scale=${SCALE}`;
  if (state.cls !== "") url += `&class=${encodeURIComponent(state.cls)}`;
  return url;
}

// The view in the URL: seed, images, class, and pins as seed.index pairs.
function saveHash() {
  const parts = [`seed=${state.seed}`, `n=${state.n}`];
  if (state.cls !== "") parts.push(`class=${encodeURIComponent(state.cls)}`);
  if (state.pins.length) parts.push(`pins=${state.pins.map((p) => `${p.seed}.${p.index}`).join(",")}`);
  if (state.selected >= 0) parts.push(`sel=${state.selected}`);
  history.replaceState(null, "", "#" + parts.join("&"));
}

function readHash() {
  const fields = new URLSearchParams(location.hash.slice(1));
  const seed = Number(fields.get("seed"));
  if (Number.isSafeInteger(seed) && seed >= 0) state.seed = seed;
  const n = Number(fields.get("n"));
  if ([16, 36, 64, 100].includes(n)) state.n = n;
  if (fields.has("class")) state.cls = fields.get("class");
  const pins = (fields.get("pins") || "").split(",").filter(Boolean).map((p) => {
    const [seed, index] = p.split(".").map(Number);
    return { seed, index };
  }).filter((p) => Number.isSafeInteger(p.seed) && p.index >= 0 && p.index < 256);
  const sel = Number(fields.get("sel"));
  return { pins, sel: Number.isInteger(sel) ? sel : -1 };
}

async function api(path, body) {
  const options = body === undefined ? {} :
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

async function noiseOf(seed, index) {
  const response = await api(`/api/noise?seed=${seed}&n=${index + 1}`);
  return (await response.json()).vectors[index];
}

// Shows a PNG from the API in `img` and offers it for download through `link`.
async function showPng(img, link, path, body) {
  const blob = await (await api(path, body)).blob();
  const url = URL.createObjectURL(blob);
  if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
  img.dataset.url = url;
  img.src = url;
  img.hidden = false;
  if (link) link.href = url;
  return url;
}

function drawGrid() {
  const url = sampleUrl();
  $("grid").src = url;
  $("download-grid").href = url;
  saveHash();
  if (!state.pins.length) refreshTimeline();
}

// A pinned vector with its edits: single dimensions set, then moved along the principal
// directions.
function editedVector(pin) {
  const v = pin.vector.slice();
  for (const [d, value] of pin.edits) v[d] = value;
  if (state.directions) {
    pin.along.forEach((amount, i) => {
      if (amount) state.directions[i].forEach((u, d) => { v[d] += amount * u; });
    });
  }
  return v.map((x) => Math.max(-100, Math.min(100, x)));
}

function classesOf(count) {
  if (!state.info.classes.length) return undefined;
  const cls = state.cls === "" ? "0" : state.cls;
  return Array(count).fill(cls);
}

async function pin(seed, index) {
  if (state.pins.length >= 16) state.pins.shift();
  const vector = await noiseOf(seed, index);
  state.pins.push({ seed, index, vector, edits: new Map(), along: [] });
  state.selected = state.pins.length - 1;
  await refreshPins();
}

async function refreshPins() {
  const box = $("pinned");
  box.replaceChildren();
  $("pinned-empty").hidden = state.pins.length > 0;
  for (const [i, p] of state.pins.entries()) {
    const figure = document.createElement("figure");
    figure.className = i === state.selected ? "selected" : "";
    const img = document.createElement("img");
    img.alt = `pinned ${i}`;
    const caption = document.createElement("figcaption");
    caption.textContent = `${p.seed}.${p.index}`;
    const remove = document.createElement("button");
    remove.textContent = "unpin";
    remove.onclick = (e) => {
      e.stopPropagation();
      state.pins.splice(i, 1);
      state.selected = Math.min(state.selected, state.pins.length - 1);
      refreshPins();
    };
    figure.append(img, caption, remove);
    figure.onclick = () => { state.selected = i; refreshPins(); };
    box.append(figure);
    showPng(img, null, "/api/render", { vectors: [editedVector(p)], classes: classesOf(1), scale: SCALE });
  }
  if (state.info.discriminator && state.pins.length) {
    // D's opinion: its probability that each image is real.
    const opinion = await (await api("/api/judge",
      { vectors: state.pins.map(editedVector), classes: classesOf(state.pins.length) })).json();
    box.querySelectorAll("figcaption").forEach((caption, i) => {
      caption.textContent += ` · D ${opinion.real[i].toFixed(2)}`;
      caption.title = `D's logit ${opinion.logits[i].toFixed(3)}; D(x) is its probability that the image is real`;
    });
  }
  saveHash();
  refreshTimeline();
  await refreshEdit();
  await refreshPath();
}

async function refreshEdit() {
  const pinned = state.pins[state.selected];
  $("edit-section").hidden = !pinned;
  if (!pinned) return;
  if (!state.directions) {
    const found = await (await api("/api/directions?k=10")).json();
    state.directions = found.directions;
    state.explained = found.explained;
  }
  const sliders = $("sliders");
  if (sliders.dataset.for !== `${pinned.seed}.${pinned.index}`) {
    sliders.dataset.for = `${pinned.seed}.${pinned.index}`;
    sliders.replaceChildren();
    state.directions.forEach((_, i) => {
      const label = document.createElement("label");
      label.textContent = `PC${i + 1} (${(state.explained[i] * 100).toFixed(1)} %)`;
      const slider = document.createElement("input");
      slider.type = "range";
      slider.min = "-6";
      slider.max = "6";
      slider.step = "0.1";
      slider.value = String(pinned.along[i] || 0);
      slider.dataset.direction = String(i);
      const shown = document.createElement("span");
      shown.textContent = Number(slider.value).toFixed(1);
      slider.oninput = () => {
        pinned.along[i] = Number(slider.value);
        shown.textContent = Number(slider.value).toFixed(1);
        renderEdit();
      };
      sliders.append(label, slider, shown);
    });
    pinned.vector.forEach((value, d) => {
      const label = document.createElement("label");
      label.textContent = `z[${d}]`;
      const slider = document.createElement("input");
      slider.type = "range";
      slider.min = "-3";
      slider.max = "3";
      slider.step = "0.05";
      slider.value = String(pinned.edits.get(d) ?? value);
      slider.dataset.dimension = String(d);
      const shown = document.createElement("span");
      shown.textContent = Number(slider.value).toFixed(2);
      slider.oninput = () => {
        pinned.edits.set(d, Number(slider.value));
        shown.textContent = Number(slider.value).toFixed(2);
        renderEdit();
      };
      sliders.append(label, slider, shown);
    });
  }
  await renderEdit();
}

let editPending = null;
async function renderEdit() {
  // One request at a time while a slider moves: the latest value wins.
  const pinned = state.pins[state.selected];
  if (!pinned) return;
  if (editPending) { editPending.again = true; return; }
  editPending = { again: false };
  try {
    const request = { vectors: [editedVector(pinned)], classes: classesOf(1) };
    await showPng($("edited"), $("download-edit"), "/api/render", { ...request, scale: 4 });
    if (state.info.classes.length) await refreshClasses(editedVector(pinned));
    if (state.info.discriminator) {
      const opinion = await (await api("/api/judge", request)).json();
      $("edited-judge").textContent = `D's probability that it is real: ${opinion.real[0].toFixed(3)}`;
    }
  } finally {
    const again = editPending.again;
    editPending = null;
    if (again) renderEdit();
  }
}

// A conditional generator: the edited vector drawn as every class, and a morph between two.
async function refreshClasses(vector) {
  const k = state.info.classes.length;
  await showPng($("every-class"), null, "/api/render", {
    vectors: Array(k).fill(vector), classes: state.info.classes.map((_, i) => String(i)),
    columns: Math.min(k, 10), scale: SCALE,
  });
  await showPng($("morph"), $("download-morph"), "/api/morph", {
    vector, from: $("morph-from").value, to: $("morph-to").value, steps: 8, scale: SCALE,
  });
}

// The memorisation check: the training images nearest to the edited vector's image.
async function findNeighbours() {
  const pinned = state.pins[state.selected];
  if (!pinned) return;
  const note = $("neighbours-note");
  note.textContent = "searching… (the first search indexes the training images: minutes for a large set)";
  const request = { vector: editedVector(pinned), k: 8 };
  if (state.info.classes.length) request.class = state.cls === "" ? "0" : state.cls;
  try {
    const found = await (await api("/api/neighbours", request)).json();
    const spaces = {
      "classifier-features": "the classifier's features",
      "inception-features": "Inception-v3's features (the FID's)",
    };
    const space = spaces[found.space] ?? "pixels";
    const why = found.why_pixels ? ` (${found.why_pixels})` : "";
    note.textContent = `nearest of ${found.training_images} training images, by distance in ${space}${why}`;
    const box = $("neighbours");
    box.replaceChildren();
    for (const n of found.neighbours) {
      const figure = document.createElement("figure");
      const img = document.createElement("img");
      img.src = `/api/training-image?index=${n.index}&scale=${SCALE}`;
      img.alt = `training image ${n.index}`;
      const caption = document.createElement("figcaption");
      caption.textContent = `#${n.index} ${n.label ?? ""} d ${n.distance.toFixed(2)}`;
      figure.append(img, caption);
      box.append(figure);
    }
  } catch (e) {
    note.textContent = e.message;
  }
}

let animationTimer = null;
async function refreshPath() {
  const enough = state.pins.length >= 2;
  $("path-section").hidden = !enough;
  if (!enough) return;
  const steps = Math.max(2, Math.min(64, Number($("steps").value) || 8));
  const vectors = state.pins.map(editedVector);
  const body = { vectors, steps, path: $("path").value, scale: SCALE };
  if (state.info.classes.length) body.class = state.cls === "" ? "0" : state.cls;
  const url = await showPng($("strip"), $("download-strip"), "/api/interpolate", body);
  animate(url, steps * (vectors.length - 1), steps);
  await refreshArithmetic(vectors);
}

// Plays the strip's frames in place, one after another (`columns` frames a row).
function animate(url, frames, columns) {
  const box = $("animation");
  const cell = state.info.image_size * SCALE + GAP;
  box.style.width = `${cell - GAP}px`;
  box.style.height = `${cell - GAP}px`;
  box.style.backgroundImage = `url(${url})`;
  let frame = 0;
  clearInterval(animationTimer);
  animationTimer = setInterval(() => {
    frame = (frame + 1) % frames;
    const col = frame % columns;
    const row = Math.floor(frame / columns);
    box.style.backgroundPosition = `-${GAP + col * cell}px -${GAP + row * cell}px`;
  }, 150);
}

async function refreshArithmetic(vectors) {
  const ok = vectors.length >= 3;
  $("arithmetic-hint").hidden = ok;
  $("arithmetic").hidden = !ok;
  if (!ok) return;
  const [a, b, c] = vectors;
  const v = a.map((x, d) => Math.max(-100, Math.min(100, x - b[d] + c[d])));
  await showPng($("arithmetic"), null, "/api/render",
    { vectors: [a, b, c, v], classes: classesOf(4), columns: 4, scale: SCALE });
}

function setup() {
  const { pins, sel } = readHash();
  $("seed").value = state.seed;
  $("count").value = String(state.n);
  $("seed").onchange = () => { state.seed = Math.max(0, Number($("seed").value) || 0); drawGrid(); };
  $("next-seed").onclick = () => { state.seed += 1; $("seed").value = state.seed; drawGrid(); };
  $("count").onchange = () => { state.n = Number($("count").value); drawGrid(); };
  $("class").onchange = () => { state.cls = $("class").value; drawGrid(); refreshPins(); };
  $("path").onchange = refreshPath;
  $("find-neighbours").onclick = findNeighbours;
  $("steps").onchange = refreshPath;
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === "n" || e.key === " ") { e.preventDefault(); $("next-seed").click(); }
  });
  $("grid").onclick = (e) => {
    const img = $("grid");
    const x = e.offsetX * img.naturalWidth / img.clientWidth;
    const y = e.offsetY * img.naturalHeight / img.clientHeight;
    const cell = state.info.image_size * SCALE + GAP;
    const col = Math.floor((x - GAP) / cell);
    const row = Math.floor((y - GAP) / cell);
    const columns = columnsFor(state.n);
    const index = row * columns + col;
    if (col >= 0 && col < columns && index >= 0 && index < state.n) pin(state.seed, index);
  };
  return { pins, sel };
}

async function main() {
  const about = await (await api("/api/info")).json();
  const info = { ...about.generator, run: about.run };
  state.info = info;
  $("model").textContent = info.model;
  if (info.classes.length) {
    $("class-picker").hidden = false;
    $("classes-section").hidden = false;
    for (const [i, name] of info.classes.entries()) {
      for (const select of [$("class"), $("morph-from"), $("morph-to")]) {
        const option = document.createElement("option");
        option.value = String(i);
        option.textContent = name;
        select.append(option);
      }
    }
    $("morph-to").value = String(Math.min(1, info.classes.length - 1));
    $("morph-from").onchange = renderEdit;
    $("morph-to").onchange = renderEdit;
  }
  const { pins, sel } = setup();
  $("class").value = state.cls;
  drawGrid();
  for (const p of pins) {
    state.pins.push({ seed: p.seed, index: p.index, vector: await noiseOf(p.seed, p.index), edits: new Map(), along: [] });
  }
  state.selected = sel >= 0 && sel < state.pins.length ? sel : state.pins.length - 1;
  await refreshPins();
  setupRun();
}

// After every script of the page has run (run.js's functions are called from here).
document.addEventListener("DOMContentLoaded", () => {
  main().catch((e) => { $("model").textContent = `error: ${e.message}`; });
});
