// The plotly.js the app serves: the core (scatter, layout components) and only the trace types
// feedback360/charts/ draws. Bundled and minified by esbuild (scripts/build_plotly.py) into
// feedback360/static/vendor/plotly/; a classic script that sets window.Plotly, as plotly.min.js
// did. A chart with a trace type missing here is not drawn (its table still shows): add the
// type here and to TRACE_TYPES in scripts/build_plotly.py together.
"use strict";

var Plotly = require("plotly.js/lib/core");

Plotly.register([
  require("plotly.js/lib/bar"),
  require("plotly.js/lib/heatmap"),
  require("plotly.js/lib/scatterpolar"),
]);

window.Plotly = Plotly;
