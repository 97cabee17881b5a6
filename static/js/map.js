// Every map of the platform: fetch the GeoJSON named by the element's data-map-url and draw it with Leaflet,
// over a local base layer of Ningxia's province, city and county borders with place names in the page's
// language, a title and a legend; zoomed to what it shows (Ningxia when it shows nothing). Tiles only when
// the deployment configures a tile server (otherwise no request leaves this site).
// Text from the server reaches the page only through textContent (never innerHTML, never a string given to
// bindPopup/bindTooltip, which Leaflet would parse as HTML): whatever a participant typed stays text.
// window.ningxiaMaps.create(element) also gives the site form its map (static/js/site_form.js); every map is
// listed in window.ningxiaMaps.maps ({element, map, base, content}) for the browser tests.
(function () {
  "use strict";
  if (!window.L) return;
  var configElement = document.getElementById("map-config");
  var config = configElement ? JSON.parse(configElement.textContent) : {};
  var BORDER_STYLE = {
    province: { color: "#3b3b3b", weight: 2.5, opacity: 0.9 },
    city: { color: "#6b6b6b", weight: 1.6, opacity: 0.85, dashArray: "6 3" },
    county: { color: "#9a9a9a", weight: 0.8, opacity: 0.8 }
  };
  // County names show from this zoom on; below it, only the cities' (22 names would cover the province).
  var COUNTY_LABEL_ZOOM = 8;
  var registry = window.ningxiaMaps = window.ningxiaMaps || { maps: [] };

  function escapeText(text) {
    // Leaflet's attribution control takes HTML; the configured attribution is plain text to us.
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function linesNode(lines) {
    var box = document.createElement("div");
    (lines || []).forEach(function (pair, index) {
      if (index > 0) box.appendChild(document.createElement("br"));
      var label = document.createElement("b");
      label.textContent = String(pair[0]);
      box.appendChild(label);
      box.appendChild(document.createTextNode(": " + String(pair[1])));
    });
    return box;
  }

  function isLocalPath(link) {
    // Only a path on this site ("/listings/..."): never "javascript:", "data:" or "//elsewhere".
    return typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/" && link.charAt(1) !== "\\";
  }

  function popupNode(props) {
    var box = linesNode(props.popup);
    box.className = "map-popup";
    if (isLocalPath(props.link)) {
      var anchor = document.createElement("a");
      anchor.setAttribute("href", props.link);
      anchor.textContent = String(props.link_text || props.link);
      box.appendChild(document.createElement("br"));
      box.appendChild(anchor);
    }
    return box;
  }

  function layerFor(feature) {
    var props = feature.properties || {};
    var geometry = feature.geometry || {};
    var layer;
    if (geometry.type === "Point") {
      var c = geometry.coordinates;
      layer = L.circleMarker([c[1], c[0]], {
        radius: Number(props.radius) || 6, color: props.colour, fillColor: props.colour, fill: true,
        fillOpacity: 0.7, weight: 2
      });
    } else if (geometry.type === "LineString") {
      layer = L.polyline(geometry.coordinates.map(function (c) { return [c[1], c[0]]; }), {
        color: props.colour, weight: Number(props.weight) || 3, opacity: 0.6
      });
    } else {
      return null;
    }
    if (props.popup && props.popup.length) layer.bindPopup(popupNode(props), { maxWidth: 320 });
    if (props.tooltip && props.tooltip.length) layer.bindTooltip(linesNode(props.tooltip));
    return layer;
  }

  function showError(element, message) {
    var note = document.createElement("p");
    note.className = "map-error";
    note.textContent = message;
    element.appendChild(note);
  }

  function ningxiaBounds() {
    var b = config.bounds || [[35.24, 104.28], [39.39, 107.66]];
    return L.latLngBounds(b[0], b[1]);
  }

  function control(position, build) {
    var box = L.control({ position: position });
    box.onAdd = function () {
      var node = build();
      L.DomEvent.disableClickPropagation(node);
      return node;
    };
    return box;
  }

  function titleControl() {
    var box = control("topright", function () { return L.DomUtil.create("div", "map-title"); });
    box.setText = function (text) {
      var node = box.getContainer();
      if (node) node.textContent = String(text || "");
    };
    return box;
  }

  function swatch(kind, colour, level) {
    var mark = L.DomUtil.create("span", "map-swatch map-swatch-" + kind + (level ? " map-swatch-" + level : ""));
    // Colours come from the server's fixed palette; set through the CSSOM (allowed by the CSP), not markup.
    if (colour) mark.style[kind === "line" ? "borderTopColor" : "backgroundColor"] = colour;
    return mark;
  }

  function legendControl() {
    var box = control("bottomright", function () { return L.DomUtil.create("div", "map-legend"); });
    box.setEntries = function (entries) {
      var node = box.getContainer();
      if (!node) return;
      node.textContent = "";
      var list = L.DomUtil.create("ul", "", node);
      entries.forEach(function (entry) {
        var item = L.DomUtil.create("li", "", list);
        item.appendChild(swatch(entry.kind, entry.colour, entry.level));
        var label = L.DomUtil.create("span", "map-legend-label", item);
        label.textContent = String(entry.label);
      });
    };
    return box;
  }

  function borderLegend() {
    return (config.borders || []).map(function (pair) {
      return { kind: "line", level: pair[0], colour: BORDER_STYLE[pair[0]] ? BORDER_STYLE[pair[0]].color : "", label: pair[1] };
    });
  }

  function placeLabel(kind, name, latlng) {
    var text = document.createElement("span");
    text.textContent = name;
    return L.marker(latlng, {
      pane: "mapPlaces", interactive: false, keyboard: false,
      icon: L.divIcon({ className: "map-place map-place-" + kind, html: text, iconSize: null })
    });
  }

  function showLabelsForZoom(map) {
    var container = map.getContainer();
    if (map.getZoom() < COUNTY_LABEL_ZOOM) L.DomUtil.addClass(container, "map-zoomed-out");
    else L.DomUtil.removeClass(container, "map-zoomed-out");
  }

  function drawBase(entry) {
    // Ningxia's borders and place names (the gazetteer's, in the page's language), under everything.
    var map = entry.map, element = entry.element;
    if (!config.boundaries_url) return;
    var places = config.places || {};
    fetch(config.boundaries_url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (collection) {
        var order = { county: 0, city: 1, province: 2 };
        var borders = (collection.features || []).filter(function (f) { return order[f.properties.level] !== undefined; });
        borders.sort(function (a, b) { return order[a.properties.level] - order[b.properties.level]; });
        borders.forEach(function (feature) {
          var style = BORDER_STYLE[feature.properties.level];
          L.geoJSON(feature, {
            pane: "mapBorders", interactive: false,
            style: function () { return L.extend({ fill: false, className: "map-border map-border-" + feature.properties.level }, style); }
          }).addTo(entry.base);
        });
        (collection.features || []).forEach(function (feature) {
          var props = feature.properties, c = feature.geometry.coordinates;
          var kind = props.level === "county-label" ? "county" : props.level === "city-label" ? "city" : null;
          if (!kind) return;
          var name = (places[kind] || {})[props[kind]];
          if (name) placeLabel(kind, name, [c[1], c[0]]).addTo(entry.places);
        });
        if (collection.source) map.attributionControl.addAttribution(escapeText(config.boundaries_attribution || ""));
        element.setAttribute("data-base-ready", String(entry.base.getLayers().length));
      })
      .catch(function () {
        // Without the base layer (assets not built) the content still draws, over a blank background.
        element.setAttribute("data-base-ready", "error");
      });
  }

  function create(element, options) {
    // A map of Ningxia in `element`: base layer, title and legend (options.title, options.legend), no content.
    options = options || {};
    // Quarter zoom steps: Ningxia is tall and narrow, whole steps leave it small in a wide map.
    var map = L.map(element, { zoomControl: true, zoomSnap: 0.25, zoomDelta: 0.5 });
    map.createPane("mapBorders");  // z-index in app.css: above tiles, under lines and markers
    map.createPane("mapPlaces");
    map.on("zoomend", function () { showLabelsForZoom(map); });
    map.fitBounds(ningxiaBounds());
    showLabelsForZoom(map);
    L.control.scale().addTo(map);
    if (config.tile_url) {
      L.tileLayer(config.tile_url, {
        maxZoom: config.max_zoom || 18, attribution: escapeText(config.attribution || "")
      }).addTo(map);
    }
    var title = titleControl().addTo(map);
    var legend = legendControl().addTo(map);
    var entry = {
      element: element, map: map,
      base: L.featureGroup().addTo(map), places: L.layerGroup().addTo(map),
      content: L.featureGroup().addTo(map),
      setTitle: function (text) { title.setText(text); },
      setLegend: function (entries) { legend.setEntries((entries || []).concat(borderLegend())); }
    };
    entry.setTitle(options.title || element.getAttribute("aria-label") || "");
    entry.setLegend(options.legend);
    registry.maps.push(entry);
    element.leafletMap = map;
    element.mapLayers = entry.content;
    drawBase(entry);
    return entry;
  }

  function fitContent(entry) {
    var bounds = entry.content.getBounds();
    if (bounds.isValid()) entry.map.fitBounds(bounds, { padding: [24, 24], maxZoom: 11 });
    else entry.map.fitBounds(ningxiaBounds());
  }

  function draw(element) {
    var entry = create(element);
    fetch(element.getAttribute("data-map-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (collection) {
        if (collection.title) entry.setTitle(collection.title);
        entry.setLegend(collection.legend);
        (collection.features || []).forEach(function (feature) {
          var layer = layerFor(feature);
          if (layer) entry.content.addLayer(layer);
        });
        fitContent(entry);
        element.setAttribute("data-map-ready", String(entry.content.getLayers().length));
      })
      .catch(function (error) {
        element.setAttribute("data-map-ready", "error");
        showError(element, (element.getAttribute("data-map-error") || "Map data could not be loaded.") + " (" + error.message + ")");
      });
  }

  registry.create = create;
  registry.fitContent = fitContent;
  document.querySelectorAll("[data-map-url]").forEach(draw);
})();
