// The events map (pages_map.py): Leaflet with optional tiles; points, clusters and heat cells from
// /ui/map/points for the visible box and the filters; a popup per point with a link to each event.
// The heat map is our own small canvas layer (HeatLayer below), not a plug-in: nothing is fetched.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) return;
  var form = document.getElementById("map-filters");
  var status = document.getElementById("map-status");
  var bboxField = document.getElementById("bbox");
  var heatBox = document.getElementById("heat");
  var map = L.map(el, { keyboard: true, zoomControl: true });
  var last = null; // the last data drawn, so the heat toggle needs no new request

  // A heat layer: each cell [lat, lon, weight] stamps a radial gradient, as strong as its weight, onto
  // a canvas as alpha; the summed alpha is then coloured through a palette (blue, green, yellow, red).
  var HeatLayer = L.Layer.extend({
    initialize: function () { this._cells = []; this._max = 1; },
    setData: function (cells) {
      this._cells = cells || [];
      this._max = this._cells.reduce(function (m, c) { return Math.max(m, c[2]); }, 1);
      if (this._map) this._reset();
      return this;
    },
    onAdd: function (m) {
      this._canvas = L.DomUtil.create("canvas", "app-heat leaflet-zoom-hide");
      this._canvas.setAttribute("aria-hidden", "true");
      m.getPanes().overlayPane.appendChild(this._canvas);
      m.on("moveend zoomend resize", this._reset, this);
      this._reset();
    },
    onRemove: function (m) {
      L.DomUtil.remove(this._canvas);
      m.off("moveend zoomend resize", this._reset, this);
    },
    _reset: function () {
      var size = this._map.getSize();
      L.DomUtil.setPosition(this._canvas, this._map.containerPointToLayerPoint([0, 0]));
      this._canvas.width = size.x;
      this._canvas.height = size.y;
      this._draw();
    },
    _draw: function () {
      var ctx = this._canvas.getContext("2d");
      var w = this._canvas.width, h = this._canvas.height, r = 28, max = this._max, map_ = this._map;
      ctx.clearRect(0, 0, w, h);
      if (!w || !h) return;
      this._cells.forEach(function (c) {
        var p = map_.latLngToContainerPoint([c[0], c[1]]);
        if (p.x < -r || p.y < -r || p.x > w + r || p.y > h + r) return;
        var strength = Math.min(1, 0.35 + 0.65 * c[2] / max);
        var g = ctx.createRadialGradient(p.x, p.y, 0, p.x, p.y, r);
        g.addColorStop(0, "rgba(0,0,0," + strength + ")");
        g.addColorStop(1, "rgba(0,0,0,0)");
        ctx.fillStyle = g;
        ctx.fillRect(p.x - r, p.y - r, 2 * r, 2 * r);
      });
      var image = ctx.getImageData(0, 0, w, h), px = image.data, colours = palette();
      for (var i = 3; i < px.length; i += 4) {
        var a = px[i];
        if (!a) continue;
        px[i - 3] = colours[a * 4]; px[i - 2] = colours[a * 4 + 1]; px[i - 1] = colours[a * 4 + 2];
        px[i] = Math.min(230, 60 + a);
      }
      ctx.putImageData(image, 0, 0);
    }
  });

  var colourCache = null;
  function palette() {
    if (colourCache) return colourCache;
    var c = document.createElement("canvas");
    c.width = 256; c.height = 1;
    var ctx = c.getContext("2d"), g = ctx.createLinearGradient(0, 0, 256, 0);
    g.addColorStop(0.1, "#1d70b8"); g.addColorStop(0.45, "#00703c");
    g.addColorStop(0.7, "#ffdd00"); g.addColorStop(1, "#d4351c");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 256, 1);
    colourCache = ctx.getImageData(0, 0, 256, 1).data;
    return colourCache;
  }

  var start = bboxField.value ? bboxField.value.split(",").map(Number) : null;
  var near = ["radius_m", "lat", "lon"].map(function (id) { return document.getElementById(id).value.trim(); });
  var circle = null;
  if (near.every(function (v) { return v !== "" && isFinite(Number(v)); }) && Number(near[0]) > 0) {
    near = near.map(Number);
    circle = L.circle([near[1], near[2]], { radius: near[0], interactive: false, color: "#0b0c0c", weight: 2, fill: false, dashArray: "6 4" });
  }
  if (start && start.length === 4 && start.every(isFinite)) {
    map.fitBounds([[start[1], start[0]], [start[3], start[2]]]);
  } else if (circle) {
    map.setView(circle.getLatLng(), 13);
  } else {
    map.setView([Number(el.dataset.lat), Number(el.dataset.lon)], Number(el.dataset.zoom));
  }
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: "Map tiles" }).addTo(map);
  }
  if (circle) {
    circle.addTo(map);
    if (!start) map.fitBounds(circle.getBounds());
  }
  var markers = L.layerGroup();
  var heat = new HeatLayer();

  function box() {
    var b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function text(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = content;
    return node;
  }

  // The popup: each event's title, type and date, and a link to it (all as text: titles are data).
  function popup(point) {
    var body = document.createElement("div");
    body.className = "app-map-popup";
    point.events.forEach(function (e) {
      var item = document.createElement("div");
      item.className = "app-map-popup__event";
      item.appendChild(text("p", "govuk-body-s govuk-!-font-weight-bold govuk-!-margin-bottom-1", e.title));
      item.appendChild(text("p", "govuk-body-s govuk-!-margin-bottom-1", e.type + (e.date_text ? ", " + e.date_text : "")));
      var link = text("a", "govuk-link govuk-body-s", "Open this event");
      link.href = e.href;
      link.appendChild(text("span", "govuk-visually-hidden", ": " + e.title));
      var p = document.createElement("p");
      p.className = "govuk-body-s govuk-!-margin-bottom-2";
      p.appendChild(link);
      item.appendChild(p);
      body.appendChild(item);
    });
    if (point.count > point.events.length) {
      body.appendChild(text("p", "govuk-body-s", "and " + (point.count - point.events.length) + " more here: they are listed under the map"));
    }
    return body;
  }

  function pointMarker(p) {
    var label = p.count > 1 ? p.count + " events here" : p.title;
    var icon = L.divIcon({ className: "app-point" + (p.count > 1 ? " app-point--many" : ""), iconSize: [18, 18], html: "" });
    var marker = L.marker([p.lat, p.lon], { icon: icon, title: label, alt: label, keyboard: true, riseOnHover: true });
    marker.bindPopup(function () { return popup(p); }, { maxWidth: 300, minWidth: 180 });
    return marker;
  }

  function clusterMarker(c) {
    var html = "<div class=\"app-cluster\">" + Number(c.count) + "</div>";
    var icon = L.divIcon({ className: "", html: html, iconSize: [36, 36] });
    var marker = L.marker([c.lat, c.lon], { icon: icon, title: c.count + " events here: select to zoom in", keyboard: true });
    marker.on("click", function () {
      var b = c.bounds;
      if (b && (b[2] - b[0] > 1e-6 || b[3] - b[1] > 1e-6)) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: [30, 30] });
      else map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19));
    });
    return marker;
  }

  function showLayers() {
    var wantHeat = heatBox && heatBox.checked;
    if (wantHeat) { map.closePopup(); map.removeLayer(markers); heat.addTo(map); } else { map.removeLayer(heat); markers.addTo(map); }
    el.dataset.view = wantHeat ? "heat" : "points";
  }

  function describe(data) {
    if (data.error) return data.error;
    var words = data.total + " event" + (data.total === 1 ? "" : "s") + " in view.";
    if (data.truncated) words = "More than " + data.total + " events: zoom in or narrow the filters to see them all.";
    if ((data.clusters || []).some(function (c) { return c.kind === "cluster"; })) words += " Numbered clusters group nearby events: select one to zoom in.";
    if (heatBox && heatBox.checked) words += " Shown as a heat map.";
    return words;
  }

  function draw(data) {
    last = data;
    markers.clearLayers();
    (data.clusters || []).forEach(function (c) {
      (c.kind === "cluster" ? clusterMarker(c) : pointMarker(c)).addTo(markers);
    });
    heat.setData(data.heat);
    showLayers();
    status.textContent = describe(data);
  }

  function load() {
    bboxField.value = box();
    var params = new URLSearchParams(new FormData(form));
    params.delete("heat");
    fetch(el.dataset.points + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(draw)
      .catch(function () { status.textContent = "The events could not be loaded. Try again."; });
  }

  if (heatBox) heatBox.addEventListener("change", function () { if (last) { showLayers(); status.textContent = describe(last); } });
  var useCentre = document.getElementById("use-centre");
  if (useCentre) {
    useCentre.hidden = false;
    useCentre.addEventListener("click", function () {
      var c = map.getCenter();
      document.getElementById("lat").value = c.lat.toFixed(5);
      document.getElementById("lon").value = c.lng.toFixed(5);
      var radius = document.getElementById("radius_m");
      if (!radius.value) radius.value = "1000";
      radius.focus();
    });
  }
  form.addEventListener("submit", function () { bboxField.value = box(); });
  if (el.dataset.invalid) {
    bboxField.value = box();
    showLayers();
    return; // the filters have errors (shown above): draw nothing until they are put right
  }
  map.on("moveend", load);
  load();
})();
