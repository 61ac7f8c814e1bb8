// Drives `dcgan serve`'s page in headless Chromium (Debian's, through playwright-core): the
// page loads with no request beyond the server, the grid's image decodes, a click pins a
// vector, moving a slider redraws its image, two pins give an interpolation strip, and the
// view is in the URL; for a run directory, the timeline and loss curve show, and grow live
// while DCGAN_TRAIN_ON (a shell command, if set) trains the run on. Exits non-zero on the
// first failure.
//
//   node tests/browser/check_page.mjs BASE_URL [SCREENSHOT.png]
//
// With SCREENSHOT.png, it also saves SCREENSHOT_run.png: the run's section alone.
// PLAYWRIGHT_DIR names the directory where playwright-core is installed (npm --prefix).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, screenshot] = process.argv.slice(2);
if (!base) throw new Error("usage: check_page.mjs BASE_URL [SCREENSHOT.png]");
const require = createRequire(join(process.env.PLAYWRIGHT_DIR || ".", "package.json"));
const { chromium } = require("playwright-core");

const profile = mkdtempSync(join(tmpdir(), "dcgan-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"],
  viewport: { width: 1400, height: 1000 },
});

function check(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`);
  console.log(`ok: ${what}`);
}

try {
  const page = await context.newPage();
  const elsewhere = [];
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !url.startsWith("blob:") && !url.startsWith("data:")) elsewhere.push(url);
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(`${base}/#seed=3&n=16`);
  const decoded = (selector) => page.waitForFunction((s) => {
    const img = document.querySelector(s);
    return img && img.complete && img.naturalWidth > 0;
  }, selector, { timeout: 30000 });
  await decoded("#grid");
  const model = await page.textContent("#model");
  check(model && !model.startsWith("error") && model !== "loading…", `the page names the model (${model})`);
  const size = await page.evaluate(() => [document.getElementById("grid").naturalWidth,
                                          document.getElementById("grid").naturalHeight]);
  check(size[0] === 4 * 58 + 2 && size[1] === 4 * 58 + 2, `the 16-image grid decodes (${size})`);

  // A click on the first image pins its vector and draws it for editing.
  await page.click("#grid", { position: { x: 31, y: 31 } });
  await page.waitForSelector("#pinned figure");
  await decoded("#edited");
  const pixels = () => page.evaluate(() => {
    const img = document.getElementById("edited");
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext("2d");
    g.drawImage(img, 0, 0);
    return canvas.toDataURL();
  });
  const before = await pixels();
  // Moving the first principal direction's slider redraws the image.
  await page.evaluate(() => {
    const slider = document.querySelector("#sliders input[data-direction='0']");
    slider.value = "5";
    slider.dispatchEvent(new Event("input"));
  });
  await page.waitForFunction((old) => {
    const img = document.getElementById("edited");
    if (!img.complete || img.naturalWidth === 0) return false;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext("2d").drawImage(img, 0, 0);
    return canvas.toDataURL() !== old;
  }, before, { timeout: 30000 });
  check(true, "moving a principal direction's slider changes the image");
  const dimensions = await page.evaluate(() => document.querySelectorAll("#sliders input[data-dimension]").length);
  check(dimensions === 100, `a slider per noise dimension too (${dimensions})`);

  // A second pin gives a strip between the two.
  await page.click("#grid", { position: { x: 2 + 58 + 29, y: 31 } });
  await page.waitForFunction(() => document.querySelectorAll("#pinned figure").length === 2);
  await decoded("#strip");
  const strip = await page.evaluate(() => document.getElementById("strip").naturalWidth);
  check(strip === 8 * 58 + 2, `two pins give an 8-frame interpolation strip (${strip} px wide)`);
  await page.waitForFunction(() =>
    [...document.querySelectorAll("#pinned figcaption")].every((c) => / · D \d\.\d\d$/.test(c.textContent)));
  check(true, "D's opinion of each pinned image is shown");
  // The memorisation check: eight training images, nearest first.
  await page.click("#find-neighbours");
  await page.waitForFunction(() => document.querySelectorAll("#neighbours img").length === 8, null,
                             { timeout: 120000 });
  await decoded("#neighbours figure:last-child img");
  const note = await page.textContent("#neighbours-note");
  check(/nearest of \d+ training images/.test(note), `nearest training images shown (${note})`);
  const conditional = await page.evaluate(() => !document.getElementById("classes-section").hidden);
  if (conditional) {
    await decoded("#every-class");
    await decoded("#morph");
    const widths = await page.evaluate(() => [document.getElementById("every-class").naturalWidth,
                                             document.getElementById("morph").naturalWidth]);
    check(widths[0] === 10 * 58 + 2 && widths[1] === 8 * 58 + 2,
          `a conditional generator's every-class row and class-to-class morph decode (${widths})`);
  }
  const hash = await page.evaluate(() => location.hash);
  check(hash.includes("pins=3.0,3.1"), `the view is in the URL (${hash})`);

  // A run directory: the timeline draws the pinned vectors with every saved epoch's
  // generator, next to the loss curves; while the run trains on, both grow live.
  check(await page.evaluate(() => !document.getElementById("run-section").hidden),
        "a run directory shows its training section");
  await page.waitForFunction(() => document.querySelectorAll("#timeline .epoch-row").length >= 1);
  await decoded("#timeline .epoch-row img");
  const rowWidth = await page.evaluate(() => document.querySelector("#timeline .epoch-row img").naturalWidth);
  check(rowWidth === 2 * 58 + 2, `the timeline draws the two pinned vectors (${rowWidth} px wide)`);
  const points = () => page.evaluate(() => Number(document.getElementById("loss-chart").dataset.points));
  const pointsBefore = await points();
  check(pointsBefore > 0, `the loss curve is drawn (${pointsBefore} points)`);
  // The run's evaluation after its first epoch is drawn at 1 epoch trained, as fid.png and
  // `dcgan report` draw it.
  await page.waitForFunction(() => !document.getElementById("eval-box").hidden);
  const evalFirst = await page.evaluate(() => document.getElementById("eval-chart").dataset.xFirst);
  check(evalFirst === "1", `the FID chart counts epochs trained (first point at ${evalFirst})`);
  const resume = process.env.DCGAN_TRAIN_ON;
  if (resume) {
    // Trains the run on by an epoch while the page is open: no reload, no polling.
    const training = spawn("sh", ["-c", resume], { stdio: "inherit" });
    const done = new Promise((ok) => training.on("exit", ok));
    const epochs = await page.evaluate(() => document.querySelectorAll("#timeline .epoch-row").length);
    // The new epoch's row, drawn by its generator (the run's own picture may show first,
    // while the generator is still being written).
    await page.waitForFunction(([n, width]) => {
      const rows = document.querySelectorAll("#timeline .epoch-row");
      const img = rows.length > n && rows[rows.length - 1].querySelector("img");
      return img && img.complete && img.naturalWidth === width;
    }, [epochs, rowWidth], { timeout: 600000 });
    const pointsAfter = await points();
    check(pointsAfter > pointsBefore,
          `the run's new epoch and loss points appear live (${pointsBefore} → ${pointsAfter} points)`);
    const status = await page.textContent("#run-status");
    check(/ · live$/.test(status), `the page says it is live (${status})`);
    const code = await done;
    check(code === 0, "the training run went on and finished");
  } else {
    console.log("not checked: live updates (DCGAN_TRAIN_ON is not set; run.sh sets it)");
  }

  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    // The run's section alone, for README.
    await page.locator("#run-section").screenshot({ path: screenshot.replace(/\.png$/, "_run.png") });
  }
  check(elsewhere.length === 0, `no request left the server (${elsewhere.join(", ")})`);
  check(errors.length === 0, `no script errors (${errors.join("; ")})`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
