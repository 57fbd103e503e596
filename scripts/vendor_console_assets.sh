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
# ReDoc's sidebar shows a logo from cdn.redoc.ly unconditionally: point it at an empty inline SVG
# so /redoc makes no request beyond this server (the docs' CSP would block it anyway)
sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#"data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E"#' \
  "$DEST/redoc.standalone.js"
if grep -q "cdn.redoc.ly/redoc/logo-mini.svg" "$DEST/redoc.standalone.js"; then
  echo "redoc.standalone.js still loads its logo from the CDN: update the sed above" >&2; exit 1
fi
digest="$(sha256sum "$DEST/redoc.standalone.js" | cut -d' ' -f1)"
{
  echo
  echo "redoc.standalone.js is patched by the script: its CDN logo URL becomes an empty inline SVG"
  echo "(sha256 after the patch: \`$digest\`)."
} >> "$TMP/VENDOR.md"
cp "$TMP/VENDOR.md" "$DEST/VENDOR.md"
echo "vendored into $DEST:"; ls -la "$DEST"
