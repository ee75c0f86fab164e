// panels.js: the state panels at the current instant (each switch's MAC table, each host's
// ARP cache and routing table, each TCP connection with its sequence variables), rebuilt from
// netsim's recorded deltas; rows that changed at this event are marked.
"use strict";
(function (NV) {
  const TITLES = { mac: "MAC table", arp: "ARP cache", route: "routing table", tcp: "TCP" };
  const ORDER = ["mac", "arp", "route", "tcp"];

  NV.StatePanels = class StatePanels {
    constructor(root) {
      this.root = root;
      this.closed = new Set();
    }

    show(scene, index) {
      // Nothing changed between the shown event and this one, and neither has a change to
      // mark: the tables on screen are right already (most steps of a long run).
      if (scene === this.scene && this.index !== undefined && !this.changesBetween(scene, this.index, index)) {
        this.index = index;
        return;
      }
      this.scene = scene;
      this.index = index;
      const { tables, changed } = NV.stateAt(scene, index);
      const kinds = scene.stateTables;
      const note = scene.raw.state.note;
      const groups = [];
      const nodes = scene.topology.nodes.map((n) => n.name);
      for (const name of nodes) {
        const mine = ORDER.map((k) => k + "/" + name).filter((t) => kinds[t] || tables.has(t));
        if (!mine.length) continue;
        const det = NV.el("details", { class: "node-state", "data-node": name, open: !this.closed.has(name) });
        det.addEventListener("toggle", () => {
          if (det.open) this.closed.delete(name); else this.closed.add(name);
        });
        det.append(NV.el("summary", { text: name }));
        for (const t of mine) det.append(this.table(t, kinds[t], tables.get(t) || new Map(), changed));
        groups.push(det);
      }
      const parts = [NV.el("div", { class: "panel-title", text: "State at this instant" })];
      if (note) parts.push(NV.el("p", { class: "note", text: note }));
      parts.push(groups.length ? NV.el("div", { class: "groups" }, ...groups)
        : NV.el("p", { class: "empty", text: "no device tables in this scene" }));
      this.root.replaceChildren(...parts);
    }

    changesBetween(scene, a, b) {
      const lo = Math.min(a, b), hi = Math.max(a, b);
      const d = scene.deltas;
      // any delta with index in [lo, hi]: lo itself is marked on screen, hi would be
      const k = NV.upperBound(d, lo - 1, (x) => x[0]);
      return k < d.length && d[k][0] <= hi;
    }

    table(name, meta, rows, changed) {
      const kind = name.split("/")[0];
      const columns = (meta && meta.columns) || [];
      const t = NV.el("table", { class: "state state-" + kind, "data-table": name });
      t.append(NV.el("caption", { text: TITLES[kind] || kind }));
      t.append(NV.el("tr", {}, ...columns.map((c) => NV.el("th", { text: c }))));
      if (!rows.size) {
        t.append(NV.el("tr", { class: "empty" }, NV.el("td", { colspan: columns.length || 1, text: "(empty)" })));
      }
      for (const [key, row] of rows) {
        const tr = NV.el("tr", { class: changed.has(name + "\u0000" + key) ? "changed" : null, "data-key": key },
          ...row.map((v) => NV.el("td", { text: v === null ? "" : String(v) })));
        t.append(tr);
      }
      return t;
    }
  };
})(window.NV);
