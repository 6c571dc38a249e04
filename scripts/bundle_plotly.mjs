// Bundles assets/plotly-partial.js (plotly.js core and the trace types the app draws) into one
// minified classic script with esbuild. Run by scripts/build_plotly.py, which checks the result:
//
//     node scripts/bundle_plotly.mjs ENTRY OUTFILE
//
// esbuild's JavaScript API rather than its command line, for the one plugin below.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as esbuild from "esbuild";

const [entry, outfile] = process.argv.slice(2);
if (!outfile) {
  console.error("usage: node scripts/bundle_plotly.mjs ENTRY OUTFILE");
  process.exit(2);
}

// plotly.js's attribute definitions carry their reference documentation (description, role,
// hrName, requiredOpts, otherOpts), which only its schema browser reads. plotly.js's own dist
// bundles drop it the same way; it is about an eighth of the bundle.
const META = [
  /\s*description: '.*',?/g,
  /\s*description: \[[\s\S]*?\]\.join\([\s\S]*?\),?/g,
  /\s*(?:requiredOpts|otherOpts): \[[\s\S]*?\],?/g,
  /\s*(?:role|hrName): '.*',?/g,
];

const stripPlotlyMeta = {
  name: "strip-plotly-meta",
  setup(build) {
    build.onLoad({ filter: /[\\/]plotly\.js[\\/]src[\\/].*\.js$/ }, async (args) => {
      let contents = await readFile(args.path, "utf8");
      for (const pattern of META) {
        contents = contents.replace(pattern, "");
      }
      return { contents, loader: "js" };
    });
  },
};

const plotly = createRequire(import.meta.url)("plotly.js/package.json");

await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2018",
  // As plotly.js's own build: some dependencies expect node's `global`.
  define: { global: "window" },
  // The map traces' stylesheet, which registry.js requires only for them: not in this bundle.
  loader: { ".css": "empty" },
  // plotly.js's licence (MIT) travels with it; its dependencies' notices go to
  // OUTFILE.LEGAL.txt beside it, which the bundle names (and which holds URLs only as text).
  banner: { js: `/*! plotly.js v${plotly.version} (partial bundle for feedback360) | ` +
    `Copyright Plotly, Inc. | ${plotly.license} licence */` },
  legalComments: "linked",
  logLevel: "warning",
  plugins: [stripPlotlyMeta],
});
