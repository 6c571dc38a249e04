// Draws the development dashboard's charts (feedback360/charts.py) with plotly.js.
//
// Each chart is a <script type="application/json" class="app-chart-data" data-target="ID">
// block holding {data, layout, config}, next to an empty, hidden <div id="ID">. The table after
// every chart carries the same figures, so the charts are only an enhancement: a chart is shown
// only once it has been drawn, and if plotly.js did not load (or a figure fails) it stays hidden.
// A figure folded away in a closed <details> is drawn when it is first opened (plotly measures
// the element, which has no size while folded). A figure marked data-narrow="table" is not drawn
// on a phone-sized screen, where it would be too small to read: its table stands for it.

const blocks = Array.from(document.querySelectorAll("script.app-chart-data[data-target]"));

function targetOf(block) {
  return document.getElementById(block.dataset.target);
}

// On a phone-sized screen, the layout changes the figure carries in layout.meta.narrow.
const NARROW = 560;

function merge(base, patch) {
  const merged = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const nested = value && typeof value === "object" && !Array.isArray(value);
    merged[key] = nested && base[key] && typeof base[key] === "object"
      ? merge(base[key], value) : value;
  }
  return merged;
}

function layoutFor(target, layout) {
  const narrow = layout.meta && layout.meta.narrow;
  return narrow && target.clientWidth < NARROW ? merge(layout, narrow) : layout;
}

function hide(target) {
  if (target) {
    target.hidden = true;
    target.classList.remove("app-chart__figure--drawn");
  }
}

async function draw(Plotly, block) {
  const target = targetOf(block);
  if (!target) {
    return;
  }
  const folded = target.closest("details:not([open])");
  if (folded) {
    folded.addEventListener("toggle", () => draw(Plotly, block), { once: true });
    return;
  }
  try {
    const figure = JSON.parse(block.textContent);
    target.hidden = false; // plotly measures the element, so it must be displayed first
    if (target.dataset.narrow === "table" && target.clientWidth < NARROW) {
      target.hidden = true;
      target.closest(".app-chart").classList.add("app-chart--as-table");
      return;
    }
    await Plotly.newPlot(target, figure.data, layoutFor(target, figure.layout),
      { ...figure.config, responsive: true });
    target.classList.add("app-chart__figure--drawn");
  } catch (error) {
    hide(target);
    if (typeof Plotly.purge === "function") {
      Plotly.purge(target);
    }
    console.warn(`Chart ${block.dataset.target} could not be drawn; its table has the figures.`,
      error);
  }
}

async function drawAll() {
  const Plotly = window.Plotly;
  if (!Plotly || typeof Plotly.newPlot !== "function") {
    blocks.forEach((block) => hide(targetOf(block)));
    return;
  }
  for (const block of blocks) {
    await draw(Plotly, block);
  }
  document.documentElement.dataset.chartsDrawn = "true";
}

drawAll();
