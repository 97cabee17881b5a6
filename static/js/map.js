// Every map of the platform: fetch the GeoJSON named by the element's data-map-url and draw it with Leaflet.
// Text from the server reaches the page only through textContent (never innerHTML, never a string given to
// bindPopup/bindTooltip, which Leaflet would parse as HTML): whatever a participant typed stays text.
(function () {
  "use strict";
  if (!window.L) return;
  var configElement = document.getElementById("map-config");
  var config = configElement ? JSON.parse(configElement.textContent) : {};

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

  function draw(element) {
    var centre = config.centre || [37.7, 106.2];
    var map = L.map(element, { zoomControl: true }).setView(centre, config.zoom || 7);
    L.control.scale().addTo(map);
    if (config.tile_url) {
      // With no tile server reachable the tiles fail quietly and the markers still draw.
      L.tileLayer(config.tile_url, {
        maxZoom: config.max_zoom || 18, attribution: escapeText(config.attribution || "")
      }).addTo(map);
    }
    var group = L.featureGroup().addTo(map);
    element.leafletMap = map;
    element.mapLayers = group;
    fetch(element.getAttribute("data-map-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (collection) {
        (collection.features || []).forEach(function (feature) {
          var layer = layerFor(feature);
          if (layer) group.addLayer(layer);
        });
        var bounds = group.getBounds();
        if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 11 });
        element.setAttribute("data-map-ready", String(group.getLayers().length));
      })
      .catch(function (error) {
        element.setAttribute("data-map-ready", "error");
        showError(element, (element.getAttribute("data-map-error") || "Map data could not be loaded.") + " (" + error.message + ")");
      });
  }

  document.querySelectorAll("[data-map-url]").forEach(draw);
})();
