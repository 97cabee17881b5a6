// The site form: picking a place from the gazetteer fills in its coordinates, county and park; the map
// (window.ningxiaMaps from static/js/map.js) places the site by a click or by dragging its marker, which fills
// the latitude and longitude inputs; typing numbers in those inputs moves the marker. The inputs stay the
// way to enter a position without a pointer.
(function () {
  "use strict";
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (!lat || !lon) return;
  var DECIMALS = 5;  // about a metre; the site's position is stored to six places
  var mapElement = document.getElementById("site-map");
  var picker = null;

  function typedPosition() {
    var a = Number(String(lat.value).trim()), b = Number(String(lon.value).trim());
    if (lat.value.trim() === "" || lon.value.trim() === "" || !isFinite(a) || !isFinite(b)) return null;
    if (a < -90 || a > 90 || b < -180 || b > 180) return null;
    return [a, b];
  }

  function showMarker(position, pan) {
    if (!picker || !position) return;
    if (!picker.marker) {
      picker.marker = L.marker(position, { draggable: true, title: mapElement.getAttribute("aria-label") || "" });
      picker.marker.on("dragend", function () { fill(picker.marker.getLatLng()); });
      picker.content.addLayer(picker.marker);
    } else {
      picker.marker.setLatLng(position);
    }
    if (pan && !picker.map.getBounds().contains(position)) picker.map.panTo(position);
  }

  function fill(latlng) {
    lat.value = latlng.lat.toFixed(DECIMALS);
    lon.value = L.Util.wrapNum(latlng.lng, [-180, 180], true).toFixed(DECIMALS);
    [lat, lon].forEach(function (input) { input.dispatchEvent(new Event("change", { bubbles: true })); });
  }

  if (mapElement && window.ningxiaMaps && window.ningxiaMaps.create) {
    var legendText = mapElement.getAttribute("data-legend");
    picker = window.ningxiaMaps.create(mapElement, {
      legend: legendText ? [{ kind: "marker", colour: "#2a81cb", label: legendText }] : []
    });
    var start = typedPosition();
    if (start) {
      showMarker(start, false);
      picker.map.setView(start, 11);
    }
    picker.map.on("click", function (event) {
      showMarker([event.latlng.lat, event.latlng.lng], false);
      fill(event.latlng);
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () {
        // Half-typed or nonsense numbers leave the marker where it was.
        var position = typedPosition();
        if (position) showMarker(position, true);
      });
    });
    mapElement.setAttribute("data-map-ready", "picker");
  }

  var data = document.getElementById("places");
  var select = document.getElementById("place");
  if (!data || !select) return;
  var places = JSON.parse(data.textContent);
  select.addEventListener("change", function () {
    var p = places[select.value];
    if (!p) return;
    lat.value = p.lat;
    lon.value = p.lon;
    document.getElementById("county").value = p.county;
    document.getElementById("industrial_park").value = p.park;
    showMarker(typedPosition(), true);
  });
})();
