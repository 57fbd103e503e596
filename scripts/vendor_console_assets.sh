#!/usr/bin/env bash
# Refresh the console's vendored browser assets from npm (no CDN at run time, no build step).
# Usage: scripts/vendor_console_assets.sh   (needs npm; versions pinned below)
# Writes the files into src/modelport/console/static/vendor/ and records versions, licences and
# sha256 digests in VENDOR.md there. Bump a version here and rerun to upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=src/modelport/console/static/vendor
PACKAGES=("htmx.org@2.0.4" "chart.js@4.4.7" "swagger-ui-dist@5.18.2" "redoc@2.2.0")
# package-relative path -> vendored file name
declare -A FILES=(
  ["htmx.org:dist/htmx.min.js"]="htmx.min.js"
  ["chart.js:dist/chart.umd.js"]="chart.umd.js"
  ["swagger-ui-dist:swagger-ui-bundle.js"]="swagger-ui-bundle.js"
  ["swagger-ui-dist:swagger-ui.css"]="swagger-ui.css"
  ["swagger-ui-dist:favicon-32x32.png"]="favicon-32x32.png"
  ["redoc:bundles/redoc.standalone.js"]="redoc.standalone.js"
)
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"
{
  echo "# Vendored browser assets"
  echo
  echo "Shipped in the package so the console, \`/docs\` and \`/redoc\` work offline. Refreshed by"
  echo "\`scripts/vendor_console_assets.sh\` (npm pack of the pinned versions); do not edit by hand."
  echo
  echo "| file | package | version | licence | sha256 |"
  echo "| --- | --- | --- | --- | --- |"
} > "$TMP/VENDOR.md"
for spec in "${PACKAGES[@]}"; do
  name="${spec%@*}"
  (cd "$TMP" && npm pack --silent "$spec" > "$TMP/$name.tgz.name")
  mkdir -p "$TMP/$name"
  tar -xzf "$TMP/$(cat "$TMP/$name.tgz.name")" -C "$TMP/$name"
  version="$(node -p "require('$TMP/$name/package/package.json').version")"
  licence="$(node -p "require('$TMP/$name/package/package.json').license")"
  for key in "${!FILES[@]}"; do
    [ "${key%%:*}" = "$name" ] || continue
    src="$TMP/$name/package/${key#*:}"
    out="${FILES[$key]}"
    cp "$src" "$DEST/$out"
    digest="$(sha256sum "$DEST/$out" | cut -d' ' -f1)"
    echo "| $out | $name | $version | $licence | \`$digest\` |" >> "$TMP/VENDOR.md"
  done
  for lic in LICENSE LICENSE.md LICENSE.txt; do
    if [ -f "$TMP/$name/package/$lic" ]; then cp "$TMP/$name/package/$lic" "$DEST/LICENSE.$name"; break; fi
  done
done
cp "$TMP/VENDOR.md" "$DEST/VENDOR.md"
echo "vendored into $DEST:"; ls -la "$DEST"
