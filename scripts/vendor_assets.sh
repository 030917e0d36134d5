#!/usr/bin/env bash
# Vendor the web UI's front-end assets (and axe-core for the browser tests) from npm, at pinned versions.
#
# Only built files are kept: minified CSS and JS, fonts and images. No node_modules, source maps or Sass.
# The GOV.UK and MOJ style sheets refer to /assets/...; they are rewritten to assets/... so that they
# resolve next to the CSS file wherever the UI is mounted (/ui/static/vendor/frontend/assets/...).
#
# Usage: scripts/vendor_assets.sh            (needs npm and network access to the npm registry)
set -euo pipefail

GOVUK_FRONTEND=6.6.0
MOJ_FRONTEND=11.1.0
HTMX=2.0.11
LEAFLET=1.9.4
CYTOSCAPE=3.35.0
AXE_CORE=4.14.1

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/src/openrms/web/static/vendor"
test_vendor="$root/tests/browser/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
for spec in "govuk-frontend@$GOVUK_FRONTEND" "@ministryofjustice/frontend@$MOJ_FRONTEND" "htmx.org@$HTMX" \
    "leaflet@$LEAFLET" "cytoscape@$CYTOSCAPE" "axe-core@$AXE_CORE"; do
    npm pack --silent "$spec" >/dev/null
done
for tarball in *.tgz; do
    mkdir -p "x/${tarball%.tgz}"
    tar xzf "$tarball" -C "x/${tarball%.tgz}"
done
govuk="x/govuk-frontend-$GOVUK_FRONTEND/package/dist/govuk"
moj="x/ministryofjustice-frontend-$MOJ_FRONTEND/package/moj"
htmx="x/htmx.org-$HTMX/package/dist"
leaflet="x/leaflet-$LEAFLET/package/dist"
cytoscape="x/cytoscape-$CYTOSCAPE/package/dist"
axe="x/axe-core-$AXE_CORE/package"

rm -rf "$vendor"
mkdir -p "$vendor/frontend/assets/images" "$vendor/htmx" "$vendor/leaflet/images" \
    "$vendor/cytoscape" "$test_vendor"

# Strip the sourceMappingURL comments (the maps are not shipped) and make asset URLs relative. The GDS
# Transport typeface and the crown are for services on GOV.UK only; OpenRMS is not one, so the font faces
# are removed and the type falls back to Arial, as the GOV.UK Design System asks of other services.
strip_map() { sed -e 's|/[/*]# sourceMappingURL=[^ ]*||g' "$1" >"$2"; }
relative_assets() {
    sed -e 's|url(/assets/|url(assets/|g' -e 's|@font-face{font-family:"\{0,1\}GDS Transport[^}]*}||g' \
        -e 's|"\{0,1\}GDS Transport"\{0,1\},||g' "$1"
}

strip_map "$govuk/govuk-frontend.min.css" "$work/govuk.css"
relative_assets "$work/govuk.css" >"$vendor/frontend/govuk-frontend.min.css"
strip_map "$moj/moj-frontend.min.css" "$work/moj.css"
relative_assets "$work/moj.css" >"$vendor/frontend/moj-frontend.min.css"
strip_map "$govuk/govuk-frontend.min.js" "$vendor/frontend/govuk-frontend.min.js"
strip_map "$moj/moj-frontend.min.js" "$vendor/frontend/moj-frontend.min.js"
cp "$govuk"/assets/images/* "$vendor/frontend/assets/images/"
cp "$moj"/assets/images/* "$vendor/frontend/assets/images/"
# social-sharing previews and home-screen icons of GOV.UK and the MOJ: not ours to use
rm -f "$vendor"/frontend/assets/images/*opengraph* "$vendor"/frontend/assets/images/*apple-touch* \
    "$vendor"/frontend/assets/images/govuk-icon-* "$vendor"/frontend/assets/images/moj-logotype-*

cp "$htmx/htmx.min.js" "$vendor/htmx/"
strip_map "$leaflet/leaflet.css" "$vendor/leaflet/leaflet.css"
strip_map "$leaflet/leaflet.js" "$vendor/leaflet/leaflet.js"
cp "$leaflet"/images/*.png "$vendor/leaflet/images/"
strip_map "$cytoscape/cytoscape.min.js" "$vendor/cytoscape/cytoscape.min.js"
cp "$axe/axe.min.js" "$test_vendor/axe.min.js"

cat >"$vendor/VERSIONS.txt" <<EOF
Vendored by scripts/vendor_assets.sh from the npm registry. Do not edit these files; re-run the script.

govuk-frontend               $GOVUK_FRONTEND   MIT (code), OGL v3 (images); GDS Transport font faces removed (GOV.UK only)
@ministryofjustice/frontend  $MOJ_FRONTEND  MIT
htmx.org                     $HTMX  0BSD
leaflet                      $LEAFLET   BSD-2-Clause
cytoscape                    $CYTOSCAPE  MIT
axe-core (tests/browser/vendor only)  $AXE_CORE  MPL-2.0
EOF
cp "$vendor/VERSIONS.txt" "$test_vendor/VERSIONS.txt"
echo "vendored into $vendor and $test_vendor:"
du -sh "$vendor" "$test_vendor"
