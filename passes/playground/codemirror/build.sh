#!/usr/bin/env bash
# Rebuild ../static/codemirror.js and ../static/THIRD-PARTY-LICENSES.txt from
# the versions pinned in package-lock.json (needs node and npm; run it only
# to update CodeMirror: the built files are committed, and the page uses them).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
static=../static
node_modules/.bin/esbuild entry.js --bundle --format=esm --minify \
  --legal-comments=none --metafile=meta.json --outfile="$static/codemirror.js"
# Every package that went into the bundle, with its license text.
node -e '
const fs = require("fs"), path = require("path");
const inputs = Object.keys(JSON.parse(fs.readFileSync("meta.json")).inputs);
const dirs = [...new Set(inputs.filter(f => f.startsWith("node_modules/"))
  .map(f => f.split("/").slice(0, f.split("/")[1].startsWith("@") ? 3 : 2).join("/")))].sort();
let out = "The playground page bundles these packages into codemirror.js (built by\n" +
          "passes/playground/codemirror/build.sh). Their licenses follow.\n";
for (const dir of dirs) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json")));
  const license = fs.readdirSync(dir).find(f => /^licen[cs]e/i.test(f));
  out += `\n${"=".repeat(72)}\n${meta.name} ${meta.version} (${meta.license})\n${"=".repeat(72)}\n\n`;
  out += fs.readFileSync(path.join(dir, license), "utf8").trim() + "\n";
}
fs.writeFileSync(process.argv[1], out);
' "$static/THIRD-PARTY-LICENSES.txt"
rm meta.json
