// Picking a place from the gazetteer fills in its coordinates, county and park.
(function () {
  var data = document.getElementById("places");
  var select = document.getElementById("place");
  if (!data || !select) return;
  var places = JSON.parse(data.textContent);
  select.addEventListener("change", function () {
    var p = places[select.value];
    if (!p) return;
    document.getElementById("lat").value = p.lat;
    document.getElementById("lon").value = p.lon;
    document.getElementById("county").value = p.county;
    document.getElementById("industrial_park").value = p.park;
  });
})();
