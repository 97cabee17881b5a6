#!/usr/bin/env bash
# Copy the front-end assets pinned in package.json / package-lock.json from node_modules into the
# git-ignored static/vendor/, so every page works without a CDN (and offline).
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
rm -rf "$out" && mv "$out.tmp" "$out"
echo "front-end assets in $out"
