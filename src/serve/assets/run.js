// dcgan explorer, the run's part: the checkpoint timeline (the same noise drawn by the
// generator of every saved epoch), the loss and evaluation curves, and their live updates
// while the run trains (Server-Sent Events from /api/events: the page never polls).
// Uses app.js's state, api, showPng and editedVector.
"use strict";

const MOST_ROWS = 32;       // timeline rows shown at most; a longer run shows every 2nd, 4th, …
const TIMELINE_VECTORS = 8; // grid samples drawn when nothing is pinned
const MOST_POINTS = 4000;   // loss points kept; more are averaged in pairs

const run = {
  epochs: [],   // [{epoch, generator, picture}]
  metrics: [],  // [{step, loss_D, loss_G, D_x, D_G_z}]
  evals: [],    // [{step, epoch, fid, …}]
  logged: 0,
  source: null, // the EventSource
  drawn: new Map(), // epoch -> the key of the vectors its row shows
};

// What the timeline draws: the pinned vectors as edited (of the picked class, as the pins
// show them), else the grid's first images (their noise and classes, as the grid has them).
async function timelineInputs() {
  if (state.pins.length) {
    const vectors = state.pins.map(editedVector);
    return { vectors, classes: classesOf(vectors.length) };
  }
  const response = await api(`/api/noise?seed=${state.seed}&n=${TIMELINE_VECTORS}`);
  const vectors = (await response.json()).vectors;
  const k = state.info.classes.length;
  const classes = k ? vectors.map((_, i) => state.cls === "" ? String(i % k) : state.cls) : undefined;
  return { vectors, classes };
}

// The epochs shown: all, or every 2nd, 4th, … (the smallest power of two that fits) and the
// last. Rows stay put as epochs arrive: only the last one moves, until the stride doubles.
function shownEpochs() {
  const all = run.epochs;
  if (all.length <= MOST_ROWS) return all;
  let stride = 2;
  while (Math.ceil(all.length / stride) > MOST_ROWS - 1) stride *= 2;
  const picked = all.filter((_, i) => i % stride === 0);
  if (picked[picked.length - 1] !== all[all.length - 1]) picked.push(all[all.length - 1]);
  return picked;
}

let timelinePending = null;
async function refreshTimeline() {
  if (!state.info || !state.info.run) return;
  // One refresh at a time; a change meanwhile asks for one more.
  if (timelinePending) { timelinePending.again = true; return; }
  timelinePending = { again: false };
  try {
    const { vectors, classes } = await timelineInputs();
    const key = JSON.stringify([vectors, classes]);
    const box = $("timeline");
    const shown = shownEpochs();
    const keep = new Set(shown.map((e) => e.epoch));
    for (const row of [...box.children]) {
      if (keep.has(Number(row.dataset.epoch))) continue;
      const img = row.querySelector("img");
      if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
      row.remove();
      run.drawn.delete(Number(row.dataset.epoch));
    }
    $("timeline-note").textContent = run.epochs.length > shown.length ?
      `${shown.length} of ${run.epochs.length} saved epochs (one in ${run.epochs.indexOf(shown[1])}, and the last)` :
      `${run.epochs.length} saved epoch${run.epochs.length === 1 ? "" : "s"}`;
    for (const entry of shown) {
      let row = box.querySelector(`[data-epoch="${entry.epoch}"]`);
      if (!row) {
        row = document.createElement("div");
        row.className = "epoch-row";
        row.dataset.epoch = String(entry.epoch);
        const label = document.createElement("span");
        label.textContent = `epoch ${entry.epoch}`;
        const img = document.createElement("img");
        img.alt = `epoch ${entry.epoch}`;
        row.append(label, img);
        // Rows stay in epoch order as new epochs arrive.
        const after = [...box.children].find((r) => Number(r.dataset.epoch) > entry.epoch);
        box.insertBefore(row, after || null);
      }
      const img = row.querySelector("img");
      const rowKey = entry.generator ? key : "picture";
      if (run.drawn.get(entry.epoch) === rowKey) continue;
      try {
        if (entry.generator) {
          await showPng(img, null, "/api/timeline", {
            epoch: entry.epoch, vectors, classes,
            columns: vectors.length, scale: SCALE,
          });
          img.title = "the same noise, drawn by this epoch's generator";
        } else {
          // An older run kept no generators: its own picture of its fixed noise.
          img.src = `/api/timeline/picture?epoch=${entry.epoch}`;
          img.title = "the run's own picture of its fixed noise (no generator was kept)";
        }
        // A row removed meanwhile (the run reloaded) is drawn again when it is back.
        if (row.isConnected) run.drawn.set(entry.epoch, rowKey);
      } catch (e) {
        // One epoch that cannot be drawn leaves the others drawn.
        img.alt = `epoch ${entry.epoch}: ${e.message}`;
        img.title = e.message;
      }
    }
    $("download-timeline").hidden = shown.length === 0;
  } catch (e) {
    $("timeline-note").textContent = e.message;
  } finally {
    const again = timelinePending.again;
    timelinePending = null;
    if (again) refreshTimeline();
  }
}

// The timeline's rows as one PNG, each row labelled with its epoch.
async function downloadTimeline() {
  const rows = [...$("timeline").querySelectorAll(".epoch-row img")].filter((img) => img.naturalWidth);
  if (!rows.length) return;
  const label = 80;
  const width = label + Math.max(...rows.map((img) => img.naturalWidth));
  const height = rows.reduce((h, img) => h + img.naturalHeight, 0);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext("2d");
  g.fillStyle = "#000";
  g.fillRect(0, 0, width, height);
  g.fillStyle = "#fff";
  g.font = "14px sans-serif";
  let y = 0;
  for (const img of rows) {
    g.drawImage(img, label, y);
    g.fillText(img.alt, 6, y + img.naturalHeight / 2 + 5);
    y += img.naturalHeight;
  }
  const link = document.createElement("a");
  link.download = "timeline.png";
  link.href = canvas.toDataURL("image/png");
  link.click();
}

// Exponential moving average, debiased, as TensorBoard smooths (weight 0.6).
function smooth(values) {
  let average = 0;
  return values.map((v, i) => {
    average = 0.6 * average + 0.4 * v;
    return average / (1 - Math.pow(0.6, i + 1));
  });
}

// A line chart of `series` ([{name, colour, points: [[x, y]]}]) on `canvas`.
function chart(canvas, series, xName) {
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  const pad = { left: 48, right: 12, top: 18, bottom: 22 };
  g.fillStyle = "#202124";
  g.fillRect(0, 0, width, height);
  const points = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  canvas.dataset.points = String(series.reduce((n, s) => Math.max(n, s.points.length), 0));
  if (!points.length) return;
  // Not Math.min(...xs): a long curve would overflow the call's arguments.
  let [x0, x1, y0, y1] = points.reduce(([a, b, c, d], [x, y]) =>
    [Math.min(a, x), Math.max(b, x), Math.min(c, y), Math.max(d, y)],
  [Infinity, -Infinity, Infinity, -Infinity]);
  canvas.dataset.xFirst = String(x0);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const px = (x) => pad.left + (x - x0) / (x1 - x0) * (width - pad.left - pad.right);
  const py = (y) => height - pad.bottom - (y - y0) / (y1 - y0) * (height - pad.top - pad.bottom);
  g.strokeStyle = "#5f6368";
  g.strokeRect(pad.left, pad.top, width - pad.left - pad.right, height - pad.top - pad.bottom);
  g.fillStyle = "#9aa0a6";
  g.font = "11px sans-serif";
  g.fillText(y1.toPrecision(3), 4, pad.top + 4);
  g.fillText(y0.toPrecision(3), 4, height - pad.bottom);
  g.fillText(`${xName} ${x0}`, pad.left, height - 6);
  const right = `${x1}`;
  g.fillText(right, width - pad.right - g.measureText(right).width, height - 6);
  let legend = pad.left + 6;
  for (const s of series) {
    g.strokeStyle = s.colour;
    g.fillStyle = s.colour;
    g.lineWidth = s.width || 1.5;
    g.beginPath();
    s.points.forEach(([x, y], i) => {
      if (!Number.isFinite(y)) return;
      if (i === 0) g.moveTo(px(x), py(y)); else g.lineTo(px(x), py(y));
    });
    g.stroke();
    if (s.dots) for (const [x, y] of s.points) g.fillRect(px(x) - 2, py(y) - 2, 4, 4);
    if (s.name) {
      g.fillText(s.name, legend, pad.top - 5);
      legend += g.measureText(s.name).width + 14;
    }
  }
}

let chartsQueued = false;
function drawCharts() {
  if (chartsQueued) return;
  chartsQueued = true;
  requestAnimationFrame(() => {
    chartsQueued = false;
    const steps = run.metrics.map((r) => r.step);
    const line = (values) => values.map((v, i) => [steps[i], v]);
    const d = run.metrics.map((r) => r.loss_D);
    const gl = run.metrics.map((r) => r.loss_G);
    chart($("loss-chart"), [
      { colour: "rgba(138,180,248,0.3)", width: 1, points: line(d) },
      { colour: "rgba(246,174,45,0.3)", width: 1, points: line(gl) },
      { name: "D loss", colour: "#8ab4f8", points: line(smooth(d)) },
      { name: "G loss", colour: "#f6ae2d", points: line(smooth(gl)) },
    ], "step");
    $("eval-box").hidden = run.evals.length === 0;
    if (run.evals.length) {
      const last = run.evals[run.evals.length - 1];
      chart($("eval-chart"), [
        // Against the epochs trained (an evaluation after epoch 0 has trained one), as
        // fid.png and `dcgan report` draw it.
        { name: "FID", colour: "#81c995", dots: true, points: run.evals.map((e) => [e.epoch + 1, e.fid]) },
      ], "epochs trained");
      // A figure the evaluation could not compute arrives as null.
      const figure = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "–");
      let text = `latest (epoch ${last.epoch}): FID ${figure(last.fid, 2)}, KID ${figure(last.kid, 4)}, ` +
        `IS ${figure(last.inception_score, 2)}, precision ${figure(last.precision, 3)}, ` +
        `recall ${figure(last.recall, 3)}`;
      if (typeof last.class_accuracy === "number") {
        text += `, class accuracy ${(last.class_accuracy * 100).toFixed(1)} %`;
      }
      $("eval-latest").textContent = text;
    }
    $("run-status").textContent = `${run.logged} logged steps · ${run.epochs.length} saved epochs` +
      (run.source && run.source.readyState === EventSource.OPEN ? " · live" : "");
  });
}

// Keeps the loss curve bounded while a long run streams in: pairs averaged until it fits.
function addMetrics(records) {
  for (const r of records) run.metrics.push(r);
  run.logged += records.length;
  while (run.metrics.length > MOST_POINTS) {
    const halved = [];
    for (let i = 0; i < run.metrics.length; i += 2) {
      const [a, b] = [run.metrics[i], run.metrics[i + 1]];
      halved.push(b ? { step: b.step, loss_D: (a.loss_D + b.loss_D) / 2, loss_G: (a.loss_G + b.loss_G) / 2 } : a);
    }
    run.metrics = halved;
  }
}

// Loads the run's curves and epochs, then follows them live.
async function loadRun() {
  if (run.source) run.source.close();
  const [curves, timeline] = await Promise.all([
    api("/api/metrics").then((r) => r.json()),
    api("/api/timeline").then((r) => r.json()),
  ]);
  run.metrics = curves.metrics;
  run.logged = curves.logged_steps;
  run.evals = curves.eval;
  run.epochs = timeline.epochs;
  run.drawn.clear();
  $("timeline").replaceChildren();
  drawCharts();
  await refreshTimeline();
  const source = new EventSource(`/api/events?from=${curves.metrics_offset}:${curves.eval_offset}`);
  run.source = source;
  source.addEventListener("metrics", (e) => { addMetrics(JSON.parse(e.data).records); drawCharts(); });
  source.addEventListener("eval", (e) => { run.evals.push(...JSON.parse(e.data).records); drawCharts(); });
  source.addEventListener("epochs", (e) => {
    run.epochs = JSON.parse(e.data).epochs;
    drawCharts();
    refreshTimeline();
  });
  source.addEventListener("reset", () => { source.close(); loadRun(); });
  source.onopen = drawCharts;
  source.onerror = () => {
    drawCharts();
    // The browser retries a dropped stream itself, but not one the server refused (too
    // many open): then try again in a while.
    if (source.readyState === EventSource.CLOSED && run.source === source) {
      setTimeout(() => { if (run.source === source) loadRun().catch(() => {}); }, 10000);
    }
  };
}

function setupRun() {
  if (!state.info.run) return;
  $("run-section").hidden = false;
  $("download-timeline").onclick = (e) => { e.preventDefault(); downloadTimeline(); };
  loadRun().catch((e) => { $("run-status").textContent = e.message; });
}
