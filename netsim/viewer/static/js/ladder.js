// ladder.js: the ladder diagram of the selected TCP connection, growing with the timeline.
//
// Both ends are columns; each segment is an arrow from the sender's column at its send time to
// the receiver's at its arrival time (netsim's TCP tracer recorded both), labelled as netsim's
// terminal and SVG ladders label it. Only what has happened by the current instant is drawn:
// a segment in flight is an arrow that stops at "now", a lost one ends in a cross half way.
// Time runs down; long idle gaps are shortened so a handshake and a 2*MSL wait both fit.
"use strict";
(function (NV) {
  const WIDTH = 380, LEFT = 84, RIGHT = 296, TOP = 16;

  NV.Ladder = class Ladder {
    constructor(root, app) {
      this.app = app;
      this.select = NV.el("select", { id: "ladder-select", "aria-label": "TCP connection" });
      this.view = NV.el("div", { class: "ladder-view", id: "ladder-view" });
      this.ends = NV.el("div", { class: "ladder-ends", id: "ladder-ends" });
      root.replaceChildren(NV.el("div", { class: "panel-title" }, "Ladder ", this.select), this.ends, this.view);
      this.select.addEventListener("change", () => {
        this.pinned = true;
        this.conn = Number(this.select.value);
        this.render(this.app.time, true);
      });
    }

    setScene(scene) {
      this.scene = scene;
      this.conns = scene.raw.tcp;
      this.pinned = false;
      this.conn = this.conns.length ? 0 : -1;
      this.select.replaceChildren(...this.conns.map((c, k) =>
        NV.el("option", { value: k, text: c.endpoints.join(" ↔ ") })));
      this.select.disabled = !this.conns.length;
      this.connOf = new Map();
      this.conns.forEach((c, k) => {
        for (const row of c.rows) {
          if (row[5] < 0) continue;
          this.connOf.set(row[5], k);
          for (const h of scene.hopsByTx.get(row[5]) || []) {
            if (scene.hops[h][1] >= 0) this.connOf.set(scene.hops[h][1], k);
          }
        }
      });
      this.axes = this.conns.map((c) => this.axis(c));
    }

    // A time axis with shortened gaps: y(t) for any t.
    axis(c) {
      const ts = new Set();
      for (const r of c.rows) { ts.add(r[0]); if (r[1] !== null) ts.add(r[1]); }
      for (const s of c.states) ts.add(s[0]);
      const times = [...ts].sort((a, b) => a - b);
      const gaps = [];
      for (let k = 1; k < times.length; k++) gaps.push(times[k] - times[k - 1]);
      const positive = gaps.filter((g) => g > 0);
      const unit = positive.length ? positive.reduce((a, b) => Math.min(a, b)) : 1;
      const ys = [TOP];
      for (let k = 1; k < times.length; k++) {
        const g = times[k] - times[k - 1];
        ys.push(ys[k - 1] + (g <= 0 ? 0 : Math.min(90, 22 + 16 * Math.log10(1 + g / unit))));
      }
      const y = (t) => {
        if (!times.length) return TOP;
        if (t <= times[0]) return TOP;
        const k = NV.upperBound(times, t, (x) => x);
        if (k >= times.length) return ys[ys.length - 1] + 20;
        const a = times[k - 1], b = times[k];
        return ys[k - 1] + (ys[k] - ys[k - 1]) * (t - a) / (b - a);
      };
      return { y, height: (ys[ys.length - 1] || TOP) + 60 };
    }

    follow(index) {
      if (this.pinned || index < 0) return;
      const k = this.connOf.get(index);
      if (k !== undefined && k !== this.conn) {
        this.conn = k;
        this.select.value = String(k);
      }
    }

    render(now, force) {
      if (this.conn < 0) {
        this.ends.replaceChildren();
        this.view.replaceChildren(NV.el("p", { class: "empty", text: "no TCP connection in this scene" }));
        return;
      }
      const c = this.conns[this.conn];
      const { y, height } = this.axes[this.conn];
      const svg = NV.svg("svg", { viewBox: "0 0 " + WIDTH + " " + height, width: "100%",
        class: "ladder", "data-conn": this.conn });
      const xs = [LEFT, RIGHT];
      const state = c.initial.slice();
      for (const s of c.states) if (s[0] <= now) state[s[1]] = s[3];
      // The ends and their states now stay in view above the scrolling diagram.
      this.ends.replaceChildren(...c.endpoints.map((ep, k) => NV.el("div", { class: "end end-" + k },
        NV.el("b", { text: ep }), " ", NV.el("span", { class: "state-now", "data-end": k, text: state[k] || "" }))));
      c.endpoints.forEach((ep, k) => {
        svg.append(NV.svg("line", { x1: xs[k], y1: 4, x2: xs[k], y2: height - 10, class: "lifeline" }));
      });
      for (const s of c.states) {
        if (s[0] > now) continue;
        const x = xs[s[1]] + (s[1] === 0 ? -8 : 8);
        svg.append(NV.svg("text", { x, y: y(s[0]) + 4, class: "state-change " + (s[1] === 0 ? "left" : "right") }, s[3]));
      }
      for (const r of c.rows) {
        const [t0, t1, src, label, lost] = r;
        if (t0 > now) continue;
        const x0 = xs[src], x1 = xs[1 - src];
        const y0 = y(t0);
        let frac = 1, yEnd;
        // A lost segment flies until the moment its envelope ends on the cable, then ends in
        // a cross half way.
        const hk = lost && r[5] >= 0 ? (this.scene.hopsByTx.get(r[5]) || [])[0] : undefined;
        const tLost = hk !== undefined ? this.scene.hops[hk][3] : t0;
        const falling = lost && now < tLost;
        if (lost) {
          frac = falling ? Math.max(0.05, 0.5 * (now - t0) / Math.max(1, tLost - t0)) : 0.5;
          yEnd = y0 + 14 * frac * 2;
        } else if (t1 === null) {
          frac = 0.5;
          yEnd = y0 + 14;
        } else {
          frac = t1 > now ? Math.max(0.05, (now - t0) / Math.max(1, t1 - t0)) : 1;
          yEnd = y(Math.min(t1, now));
        }
        const xe = x0 + (x1 - x0) * frac;
        const yFull = lost || t1 === null ? yEnd : y(t1);
        const g = NV.svg("g", { class: "seg" + (lost ? " lost" : "") + (frac < 1 && !lost ? " flight" : ""),
          "data-label": label });
        g.append(NV.svg("line", { x1: x0, y1: y0, x2: xe, y2: yEnd, "marker-end": lost && !falling ? null : "url(#arrow)" }),
          frac < 1 || lost
            // Not arrived (yet): the label starts at the sender, above the arrow.
            ? NV.svg("text", { x: x0 + (src === 0 ? 6 : -6), y: y0 - 4, class: "row-label",
              style: "text-anchor:" + (src === 0 ? "start" : "end") }, label)
            : NV.svg("text", { x: (x0 + x1) / 2, y: (y0 + yFull) / 2 - 5, class: "row-label" }, label));
        if (lost && !falling) g.append(NV.svg("path", { d: `M${xe - 6} ${yEnd - 6} L${xe + 6} ${yEnd + 6} M${xe + 6} ${yEnd - 6} L${xe - 6} ${yEnd + 6}`, class: "cross" }));
        svg.append(g);
      }
      svg.append(NV.svg("line", { x1: 10, x2: WIDTH - 10, y1: y(now), y2: y(now), class: "now" }));
      const defs = NV.svg("defs");
      const marker = NV.svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
      marker.append(NV.svg("path", { d: "M0 0 L10 5 L0 10 z" }));
      defs.append(marker);
      svg.prepend(defs);
      this.view.replaceChildren(svg);
      const scale = (this.view.clientWidth || WIDTH) / WIDTH;
      const target = y(now) * scale - this.view.clientHeight / 2;
      if (force || Math.abs(this.view.scrollTop - target) > this.view.clientHeight / 3) this.view.scrollTop = Math.max(0, target);
    }
  };
})(window.NV);
