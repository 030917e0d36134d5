// The events map: Leaflet, optional tiles, clusters from /ui/map/points for the visible box.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) return;
  var form = document.getElementById("map-filters");
  var status = document.getElementById("map-status");
  var bboxField = document.getElementById("bbox");
  var map = L.map(el, { keyboard: true, zoomControl: true });
  var start = bboxField.value ? bboxField.value.split(",").map(Number) : null;
  if (start && start.length === 4 && start.every(isFinite)) {
    map.fitBounds([[start[1], start[0]], [start[3], start[2]]]);
  } else {
    map.setView([Number(el.dataset.lat), Number(el.dataset.lon)], Number(el.dataset.zoom));
  }
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: "Map tiles" }).addTo(map);
  }
  var layer = L.layerGroup().addTo(map);

  function box() {
    var b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function draw(data) {
    layer.clearLayers();
    (data.clusters || []).forEach(function (c) {
      if (c.count === 1) {
        var marker = L.circleMarker([c.lat, c.lon], { radius: 8, color: "#0b0c0c", weight: 2, fillColor: "#d4351c", fillOpacity: 0.9 });
        var tip = document.createElement("span");
        tip.textContent = c.title + (c.date ? " (" + c.date + ")" : "");
        marker.bindTooltip(tip);
        marker.on("click", function () { window.location.href = c.href; });
        marker.addTo(layer);
      } else {
        var icon = L.divIcon({ className: "", html: "<div class=\"app-cluster\">" + Number(c.count) + "</div>", iconSize: [36, 36] });
        var group = L.marker([c.lat, c.lon], { icon: icon, title: c.count + " events here: select to zoom in", keyboard: true });
        group.on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)); });
        group.addTo(layer);
      }
    });
    status.textContent = data.error ? data.error : (data.total + " event" + (data.total === 1 ? "" : "s") + " in view.");
  }

  function load() {
    bboxField.value = box();
    var params = new URLSearchParams(new FormData(form));
    fetch(el.dataset.points + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(draw)
      .catch(function () { status.textContent = "The events could not be loaded. Try again."; });
  }

  map.on("moveend", load);
  form.addEventListener("submit", function () { bboxField.value = box(); });
  load();
})();
