// The link chart (pages_network.py): draws the graph embedded in the page with the vendored Cytoscape,
// adds a record's neighbours from graph.json?expand=ID when it is selected (click, tap, or Enter with the
// keyboard), opens a record on double-click or from the "Selected record" panel, and saves the chart as
// a PNG. The tables under the chart list every record and link, and are kept in step as records are added,
// so the chart is never the only way to read the network. Nothing is fetched from outside this service.
(function () {
  "use strict";
  var el = document.getElementById("network-chart");
  var source = document.getElementById("network-data");
  if (!el || !source || !window.cytoscape) return;
  var status = document.getElementById("network-status");
  var panel = document.getElementById("network-selected");
  var pngButton = document.getElementById("download-png");
  var graph = JSON.parse(source.textContent);
  var start = el.dataset.start;
  var expanding = false;

  // Shapes and colours by POLE category (the key on the page says the same in words).
  var LOOK = {
    person: { shape: "ellipse", colour: "#1d70b8" },
    object: { shape: "diamond", colour: "#00703c" },
    location: { shape: "triangle", colour: "#912b88" },
    event: { shape: "round-rectangle", colour: "#d4351c" }
  };
  var SYMMETRIC = { SAME_ENTITY: true, ASSOCIATE_OF: true, FAMILY_OF: true };

  function nodeElement(n) {
    var look = LOOK[n.category] || { shape: "hexagon", colour: "#505a5f" };
    return {
      group: "nodes",
      data: {
        id: n.id, label: n.label, typeLabel: n.type_label, href: n.href, start: n.start ? 1 : 0,
        shape: look.shape, colour: look.colour, depth: n.depth
      }
    };
  }

  function edgeElement(e) {
    return {
      group: "edges",
      data: {
        id: e.id, source: e.source, target: e.target, label: e.label, type: e.type,
        arrow: SYMMETRIC[e.type] ? "none" : "triangle", same: e.type === "SAME_ENTITY" ? 1 : 0
      }
    };
  }

  var cy = cytoscape({
    container: el,
    elements: graph.nodes.map(nodeElement).concat(graph.edges.map(edgeElement)),
    wheelSensitivity: 0.3,
    maxZoom: 3,
    boxSelectionEnabled: false,
    style: [
      {
        selector: "node",
        style: {
          "shape": "data(shape)", "background-color": "data(colour)", "width": 26, "height": 26,
          "border-width": 2, "border-color": "#0b0c0c", "label": "data(label)", "font-size": 11,
          "font-family": "arial, sans-serif", "color": "#0b0c0c", "text-valign": "bottom", "text-margin-y": 4,
          "text-wrap": "ellipsis", "text-max-width": "140px", "text-background-color": "#ffffff",
          "text-background-opacity": 0.85, "text-background-padding": "2px"
        }
      },
      { selector: "node[start = 1]", style: { "border-width": 6, "width": 34, "height": 34, "font-weight": "bold" } },
      { selector: "node:selected", style: { "overlay-color": "#ffdd00", "overlay-opacity": 0.6, "overlay-padding": 6 } },
      {
        selector: "edge",
        style: {
          "width": 2, "line-color": "#505a5f", "target-arrow-color": "#505a5f", "target-arrow-shape": "data(arrow)",
          "curve-style": "bezier", "label": "data(label)", "font-size": 9, "font-family": "arial, sans-serif",
          "color": "#0b0c0c", "text-rotation": "autorotate", "text-background-color": "#ffffff",
          "text-background-opacity": 0.85, "text-background-padding": "1px"
        }
      },
      { selector: "edge[same = 1]", style: { "line-style": "dashed" } }
    ]
  });
  window.openrmsChart = cy; // for tests and for the browser console

  // Drawn as rows by hops from the start (deterministic, and the rows say the distance), again after each
  // expansion: the breadth-first layout finds the new records' distance from the start itself.
  function layout() {
    cy.layout({
      name: "breadthfirst", animate: false, fit: true, padding: 30, directed: false, spacingFactor: 1.1,
      roots: cy.nodes("[start = 1]"), avoidOverlap: true
    }).run();
    if (cy.zoom() > 1.25) { cy.zoom(1.25); cy.center(); } // a small graph fitted to the box is drawn huge
  }
  layout();

  function longDate(value) {
    if (!value) return "";
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!parts) return value;
    return new Date(Date.UTC(+parts[1], +parts[2] - 1, +parts[3]))
      .toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  }

  function describe(extra) {
    var n = cy.nodes().length, m = cy.edges().length;
    status.textContent = (extra ? extra + " " : "") + n + " record" + (n === 1 ? "" : "s") + " and " + m +
      " link" + (m === 1 ? "" : "s") + " in the chart. The same records and links are listed below the chart.";
  }

  function text(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = content;
    return node;
  }

  // The panel: the chosen record's name and type, a link to open it and a button to add its neighbours.
  function show(node) {
    panel.textContent = "";
    panel.appendChild(text("p", "govuk-body-s govuk-!-font-weight-bold govuk-!-margin-bottom-1", node.data("label")));
    panel.appendChild(text("p", "govuk-body-s govuk-!-margin-bottom-1", node.data("typeLabel") + (node.data("start") ? ", the start" : "")));
    var link = text("a", "govuk-link govuk-body-s", "Open this record");
    link.href = node.data("href");
    link.appendChild(text("span", "govuk-visually-hidden", ": " + node.data("label")));
    var p = document.createElement("p");
    p.className = "govuk-body-s govuk-!-margin-bottom-1";
    p.appendChild(link);
    panel.appendChild(p);
    if (!node.data("expanded")) {
      var button = text("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-0", "Add the records linked to it");
      button.type = "button";
      button.addEventListener("click", function () { expand(node); });
      panel.appendChild(button);
    }
  }

  function choose(node) {
    cy.nodes().unselect();
    node.select();
    show(node);
  }

  function tableRow(cells, attr, value) {
    var row = document.createElement("tr");
    row.className = "govuk-table__row";
    row.setAttribute(attr, value);
    cells.forEach(function (cell) {
      var td = document.createElement("td");
      td.className = "govuk-table__cell";
      if (typeof cell === "string") td.textContent = cell; else td.appendChild(cell);
      row.appendChild(td);
    });
    return row;
  }

  // Keep the tables in step with the chart: a row per record and per link added by an expansion.
  function addRows(nodes, edges, from) {
    var nodeBody = document.querySelector("#network-nodes tbody");
    var linkTable = document.getElementById("network-links");
    nodes.forEach(function (n) {
      var link = text("a", "govuk-link", n.label);
      link.href = n.href;
      nodeBody.appendChild(tableRow([link, n.type_label, "Linked to " + from], "data-node", n.id));
    });
    edges.forEach(function (e) {
      var a = cy.getElementById(e.source).data("label"), b = cy.getElementById(e.target).data("label");
      var dates = [e.valid_from, e.valid_to].filter(Boolean).map(longDate).join(" to ") ||
        (e.created ? "Recorded " + longDate(e.created) : "");
      linkTable.querySelector("tbody").appendChild(tableRow([a, e.label, b, dates], "data-edge", e.id));
    });
    if (edges.length) {
      linkTable.hidden = false;
      var none = document.getElementById("network-no-links");
      if (none) none.hidden = true;
    }
    [["#network-nodes", "record"], ["#network-links", "link"]].forEach(function (pair) {
      var caption = document.querySelector(pair[0] + " caption");
      var count = document.querySelectorAll(pair[0] + " tbody tr").length;
      if (caption) caption.textContent = count + " " + pair[1] + (count === 1 ? "" : "s");
    });
  }

  function expand(node) {
    if (expanding || node.data("expanded")) return;
    expanding = true;
    var url = el.dataset.url + (el.dataset.url.indexOf("?") >= 0 ? "&" : "?") + "expand=" + encodeURIComponent(node.id());
    status.textContent = "Adding the records linked to " + node.data("label") + "…";
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.error) { status.textContent = data.error; return; }
        var newNodes = data.nodes.filter(function (n) { return cy.getElementById(n.id).empty(); });
        cy.add(newNodes.map(nodeElement));
        var newEdges = data.edges.filter(function (e) { return cy.getElementById(e.id).empty(); });
        cy.add(newEdges.map(edgeElement));
        node.data("expanded", 1);
        addRows(newNodes, newEdges, node.data("label"));
        if (newNodes.length) layout();
        var added = newNodes.length ? "Added " + newNodes.length + " record" + (newNodes.length === 1 ? "" : "s") +
          " linked to " + node.data("label") + "." : "Everything linked to " + node.data("label") +
          " that you may see is already in the chart.";
        if (data.capped) added += " There are more than can be drawn at once: narrow the filters.";
        describe(added);
        if (node.selected()) show(node);
      })
      .catch(function () { status.textContent = "The linked records could not be loaded. Try again."; })
      .then(function () { expanding = false; });
  }

  cy.on("tap", "node", function (evt) {
    choose(evt.target);
    expand(evt.target);
  });
  cy.on("dbltap", "node", function (evt) { window.location.href = evt.target.data("href"); });

  // The keyboard: arrow keys move between records (in reading order), Enter adds the chosen one's
  // neighbours, Escape clears the choice.
  function ordered() {
    return cy.nodes().sort(function (a, b) {
      return (b.data("start") - a.data("start")) || a.data("label").localeCompare(b.data("label"));
    });
  }
  el.addEventListener("keydown", function (evt) {
    var list = ordered(), current = cy.nodes(":selected").first(), index = -1;
    for (var i = 0; !current.empty() && i < list.length; i++) if (list[i].id() === current.id()) index = i;
    if (evt.key === "ArrowRight" || evt.key === "ArrowDown") {
      choose(list[(index + 1) % list.length]);
    } else if (evt.key === "ArrowLeft" || evt.key === "ArrowUp") {
      choose(list[index <= 0 ? list.length - 1 : index - 1]);
    } else if (evt.key === "Enter") {
      var node = current.empty() ? list[0] : current;
      choose(node);
      expand(node);
    } else if (evt.key === "Escape") {
      cy.nodes().unselect();
      return;
    } else {
      return;
    }
    evt.preventDefault();
  });

  if (pngButton) {
    pngButton.hidden = false;
    pngButton.addEventListener("click", function () {
      var blob = cy.png({ full: true, output: "blob", bg: "#ffffff", scale: 2 });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "network-" + start.replace(/[^A-Za-z0-9_-]+/g, "-") + ".png";
      a.click(); // never put in the page: an empty link there would be one a screen reader finds
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
      status.textContent = "The chart was saved as a PNG picture.";
    });
  }
  describe();
  el.dataset.ready = "1";
})();
