// topology.js: the network drawing, its envelopes and its marks.
//
// Devices sit where netsim's layout (or the user's dragging) put them; a drag moves a device
// and "Save layout" writes a copy of this file with the new positions in its data. Each hop
// on the wire at the current instant is an envelope on its cable, coloured by protocol, at the
// fraction of the way its time says; a lost or collided frame ends in a cross with the reason,
// a dropped one gets a cross at its interface.
"use strict";
(function (NV) {
  const W = 1000, H = 560;

  NV.PROTO_COLOURS = { arp: "#e39b2d", tcp: "#3b82d6", udp: "#3fa34d", icmp: "#d6457a",
    tftp: "#8e5bd1", ip: "#5d7fa3", eth: "#8a8a8a", other: "#8a8a8a", none: "#8a8a8a" };

  function icon(kind) {
    const g = NV.svg("g", { class: "icon icon-" + kind });
    if (kind === "host") {
      g.append(NV.svg("rect", { x: -20, y: -18, width: 40, height: 27, rx: 3 }),
        NV.svg("rect", { x: -15, y: -13, width: 30, height: 17, class: "screen" }),
        NV.svg("rect", { x: -4, y: 9, width: 8, height: 5 }),
        NV.svg("rect", { x: -13, y: 14, width: 26, height: 4, rx: 1 }));
    } else if (kind === "router") {
      g.append(NV.svg("circle", { r: 20 }),
        NV.svg("path", { class: "glyph", d: "M-11 -4 L11 -4 M5 -10 L11 -4 L5 2 M11 4 L-11 4 M-5 -2 L-11 4 L-5 10" }));
    } else if (kind === "switch") {
      g.append(NV.svg("rect", { x: -26, y: -15, width: 52, height: 30, rx: 5 }),
        NV.svg("path", { class: "glyph", d: "M-16 -5 L16 -5 M10 -10 L16 -5 L10 0 M16 5 L-16 5 M-10 0 L-16 5 L-10 10" }));
    } else if (kind === "hub") {
      g.append(NV.svg("rect", { x: -26, y: -13, width: 52, height: 26, rx: 13 }));
      for (const x of [-14, -5, 4, 13]) g.append(NV.svg("circle", { cx: x, cy: 0, r: 3, class: "glyph-dot" }));
    } else {
      g.append(NV.svg("rect", { x: -24, y: -13, width: 48, height: 26, rx: 4 }));
    }
    return g;
  }

  NV.Topology = class Topology {
    constructor(root, app) {
      this.app = app;
      this.root = root;
      this.svg = NV.svg("svg", { viewBox: "0 0 " + W + " " + H, class: "topology",
        preserveAspectRatio: "xMidYMid meet" });
      this.layers = {};
      for (const name of ["links", "labels", "nodes", "envelopes", "marks"]) {
        this.layers[name] = NV.svg("g", { class: "layer-" + name });
        this.svg.append(this.layers[name]);
      }
      root.replaceChildren(this.svg);
    }

    setScene(scene) {
      this.scene = scene;
      this.pos = new Map();
      this.peer = new Map();
      for (const n of scene.topology.nodes) this.pos.set(n.name, n);
      for (const l of scene.topology.links) {
        this.peer.set(l.a + "\u0000" + l.ai, [l.b, l.bi]);
        this.peer.set(l.b + "\u0000" + l.bi, [l.a, l.ai]);
      }
      this.drawStatic();
    }

    xy(name) {
      const n = this.pos.get(name);
      return n ? [n.x * W, n.y * H] : [W / 2, H / 2];
    }

    drawStatic() {
      const { links, labels, nodes } = this.layers;
      links.replaceChildren();
      labels.replaceChildren();
      nodes.replaceChildren();
      this.linkEls = [];
      for (const l of this.scene.topology.links) {
        const line = NV.svg("line", { class: "cable" + (l.medium === "segment" ? " shared" : ""),
          "data-a": l.a + ":" + l.ai, "data-b": l.b + ":" + l.bi });
        const label = NV.svg("text", { class: "link-label" }, l.label || "");
        const ia = NV.svg("text", { class: "iface-label" }, this.ifaceText(l.a, l.ai));
        const ib = NV.svg("text", { class: "iface-label" }, this.ifaceText(l.b, l.bi));
        links.append(line);
        labels.append(label, ia, ib);
        this.linkEls.push({ l, line, label, ia, ib });
      }
      this.nodeEls = new Map();
      for (const n of this.scene.topology.nodes) {
        const g = NV.svg("g", { class: "node kind-" + n.kind, "data-node": n.name });
        const ic = icon(n.kind);
        ic.setAttribute("transform", "scale(1.35)");
        g.append(NV.svg("circle", { r: 42, class: "halo" }), ic,
          NV.svg("text", { class: "node-name", y: 44 }, n.name));
        if (n.kind === "iface" && n.ifaces.length) {
          const names = n.ifaces.map((x) => x.name).filter((x) => x).join(", ");
          if (names) g.append(NV.svg("text", { class: "iface-list", y: 60 }, names));
        }
        const title = NV.svg("title", {}, n.name + " (" + n.kind + ")\n" + n.ifaces.map(
          (x) => x.name + " " + x.mac + " " + x.addrs.join(" ")).join("\n"));
        g.append(title);
        this.enableDrag(g, n);
        nodes.append(g);
        this.nodeEls.set(n.name, g);
      }
      this.layout();
    }

    ifaceText(node, iface) {
      const n = this.pos.get(node);
      const x = n ? n.ifaces.find((i) => i.name === iface) : null;
      const addr = x && x.addrs.length ? " " + x.addrs.join(", ") : "";
      return iface + addr;
    }

    layout() {
      for (const { l, line, label, ia, ib } of this.linkEls) {
        const [x1, y1] = this.xy(l.a), [x2, y2] = this.xy(l.b);
        line.setAttribute("x1", x1); line.setAttribute("y1", y1);
        line.setAttribute("x2", x2); line.setAttribute("y2", y2);
        const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
        const len = Math.hypot(x2 - x1, y2 - y1) || 1;
        const nx = -(y2 - y1) / len, ny = (x2 - x1) / len;  // normal: the label sits beside the cable
        label.setAttribute("x", mx + nx * 12); label.setAttribute("y", my + ny * 12);
        const at = (f, el, side) => {
          el.setAttribute("x", x1 + (x2 - x1) * f - nx * 10 * side);
          el.setAttribute("y", y1 + (y2 - y1) * f - ny * 10 * side + 4);
        };
        const fa = Math.min(0.35, 80 / len), fb = 1 - fa;
        at(fa, ia, 1); at(fb, ib, 1);
      }
      for (const [name, g] of this.nodeEls) {
        const [x, y] = this.xy(name);
        g.setAttribute("transform", "translate(" + x + "," + y + ")");
      }
    }

    enableDrag(g, node) {
      g.addEventListener("pointerdown", (down) => {
        down.preventDefault();
        g.setPointerCapture(down.pointerId);
        const box = this.svg.getBoundingClientRect();
        const scale = Math.max(W / box.width, H / box.height);
        const move = (ev) => {
          node.x = Math.min(0.98, Math.max(0.02, node.x + ev.movementX * scale / W));
          node.y = Math.min(0.97, Math.max(0.03, node.y + ev.movementY * scale / H));
          this.layout();
          this.render(this.app.time, this.app.index);
          this.app.layoutChanged();
        };
        const up = () => {
          g.removeEventListener("pointermove", move);
          g.removeEventListener("pointerup", up);
        };
        g.addEventListener("pointermove", move);
        g.addEventListener("pointerup", up);
      });
    }

    // The point a fraction f of the way along the cable from a to b, kept clear of the two
    // devices' icons so an envelope at either end stays visible.
    along(a, b, f) {
      const [x1, y1] = this.xy(a), [x2, y2] = this.xy(b);
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const margin = Math.min(44, len / 3);
      const d = margin + (len - 2 * margin) * f;
      return [x1 + (x2 - x1) * d / len, y1 + (y2 - y1) * d / len];
    }

    endsOf(hop) {
      const tx = this.scene.ev(hop[0]);
      let to = null;
      if (hop[1] >= 0) {
        const rx = this.scene.ev(hop[1]);
        to = [rx.node, rx.iface];
      } else {
        to = this.peer.get(tx.node + "\u0000" + tx.iface) || null;
      }
      return { from: [tx.node, tx.iface], to, fid: tx.frame };
    }

    render(t, index) {
      const scene = this.scene;
      const env = this.layers.envelopes, marks = this.layers.marks;
      env.replaceChildren();
      marks.replaceChildren();
      for (const [name, g] of this.nodeEls) g.classList.toggle("active", index >= 0 && scene.events[index][1] === name);
      const drawn = new Set();
      for (const k of scene.hopsAt(t)) {
        const hop = scene.hops[k];
        const { from, to, fid } = this.endsOf(hop);
        if (!to) continue;
        const span = hop[3] - hop[2];
        let f = span > 0 ? (t - hop[2]) / span : 1;
        f = Math.max(0, Math.min(1, f)) * hop[5];
        const [x, y] = this.along(from[0], to[0], f);
        const proto = scene.protocol(fid);
        const g = NV.svg("g", { class: "envelope proto-" + proto + " outcome-" + hop[4],
          transform: "translate(" + x + "," + y + ")", "data-hop": k,
          "data-from": from.join(":"), "data-to": to.join(":"), "data-proto": proto });
        g.append(NV.svg("rect", { x: -11, y: -8, width: 22, height: 16, rx: 2, fill: NV.PROTO_COLOURS[proto] }),
          NV.svg("path", { d: "M-11 -8 L0 1 L11 -8", class: "flap" }),
          NV.svg("title", {}, scene.raw.summaries[fid] || ""));
        env.append(g);
        drawn.add(hop[0]);
        if (hop[1] >= 0) drawn.add(hop[1]);
      }
      // A frame event that is no hop's end (a capture without a topology, a drop before the
      // wire): the envelope shows at its device.
      if (index >= 0 && scene.events[index][4] >= 0 && !drawn.has(index) &&
          !scene.hopsByTx.has(index) && !scene.hopsByRx.has(index)) {
        const e = scene.events[index];
        const [x, y] = this.xy(e[1]);
        const proto = scene.protocol(e[4]);
        const g = NV.svg("g", { class: "envelope at-node proto-" + proto,
          transform: "translate(" + (x + 30) + "," + (y - 30) + ")", "data-from": e[1] + ":" + (e[2] || ""),
          "data-to": "", "data-proto": proto });
        g.append(NV.svg("rect", { x: -11, y: -8, width: 22, height: 16, rx: 2, fill: NV.PROTO_COLOURS[proto] }),
          NV.svg("path", { d: "M-11 -8 L0 1 L11 -8", class: "flap" }));
        env.append(g);
      }
      for (const m of scene.marksAt(t)) {
        let x, y;
        if (m.hop !== undefined) {
          const hop = scene.hops[m.hop];
          const { from, to } = this.endsOf(hop);
          if (!to) continue;
          [x, y] = this.along(from[0], to[0], hop[5]);
        } else {
          [x, y] = this.xy(scene.events[m.event][1]);
          x += 26; y -= 26;
        }
        const g = NV.svg("g", { class: "mark mark-" + m.kind, transform: "translate(" + x + "," + y + ")" });
        g.append(NV.svg("path", { d: "M-8 -8 L8 8 M8 -8 L-8 8" }),
          NV.svg("text", { x: 12, y: 4 }, m.reason));
        marks.append(g);
      }
    }
  };
})(window.NV);
