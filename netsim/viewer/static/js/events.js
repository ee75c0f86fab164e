// events.js: the event list (time, node, interface, direction, summary, comment) with its
// filter box. Only the rows in view exist in the page (a 10,000-event run scrolls as fast as
// a short one); clicking a row jumps the animation there.
"use strict";
(function (NV) {
  const ROW = 22;
  const DIRECTION = { tx: "out", rx: "in", drop: "drop", collision: "✕", frame: "·" };

  NV.EventList = class EventList {
    constructor(root, app) {
      this.app = app;
      this.input = NV.el("input", { id: "filter", type: "text", spellcheck: "false",
        placeholder: "display filter: tcp.flags.syn, node h3 and udp, arp   ( / )",
        "aria-label": "display filter" });
      this.error = NV.el("span", { id: "filter-error", class: "filter-error" });
      this.count = NV.el("span", { id: "event-count", class: "count" });
      this.next = NV.el("button", { id: "next-match", title: "run to the next event matching the filter (n)",
        text: "next match ▶▶" });
      this.head = NV.el("div", { class: "row head" },
        ...["#", "time", "node", "iface", "dir", "summary", "comment"].map((h) => NV.el("span", { text: h })));
      this.viewport = NV.el("div", { class: "viewport", id: "event-viewport", tabindex: "0" });
      this.spacer = NV.el("div", { class: "spacer" });
      this.body = NV.el("div", { class: "rows", id: "event-rows" });
      this.viewport.append(this.spacer, this.body);
      root.replaceChildren(
        NV.el("div", { class: "filter-bar" }, this.input, this.next, this.count, this.error),
        this.head, this.viewport);
      this.input.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") this.applyFilter();
        if (ev.key === "Escape") this.input.blur();
        ev.stopPropagation();
      });
      this.input.addEventListener("input", () => {
        clearTimeout(this._timer);
        this._timer = setTimeout(() => this.applyFilter(), 250);
      });
      this.next.addEventListener("click", () => this.app.runToNextMatch());
      this.viewport.addEventListener("scroll", () => this.render());
      this.body.addEventListener("click", (ev) => {
        const row = ev.target.closest(".row");
        if (row) this.app.select(Number(row.dataset.index), { glide: false });
      });
      this.predicate = null;
    }

    setScene(scene) {
      this.scene = scene;
      this.applyFilter(true);
    }

    applyFilter(quiet) {
      const text = this.input.value.trim();
      const scene = this.scene;
      this.error.textContent = "";
      this.input.classList.remove("bad");
      let pred = null;
      if (text) {
        try {
          pred = NV.compileFilter(text);
        } catch (err) {
          if (!(err instanceof NV.FilterError)) throw err;
          this.error.textContent = err.message;
          this.input.classList.add("bad");
          return;
        }
      }
      const rows = [];
      try {
        for (let i = 0; i < scene.n; i++) if (!pred || pred(scene, i)) rows.push(i);
      } catch (err) {
        if (!(err instanceof NV.FilterError)) throw err;
        this.error.textContent = err.message;
        this.input.classList.add("bad");
        return;
      }
      this.predicate = pred;
      this.rows = rows;
      this.count.textContent = pred ? rows.length + " of " + scene.n + " events" : scene.n + " events";
      this.viewport.dataset.count = rows.length;
      this.spacer.style.height = rows.length * ROW + "px";
      if (!quiet) this.reveal(this.app.index);
      this.render();
    }

    matches(i) {
      return !this.predicate || this.predicate(this.scene, i);
    }

    reveal(index) {
      const pos = NV.upperBound(this.rows, index, (x) => x) - 1;
      if (pos < 0) {
        this.viewport.scrollTop = 0;
        return;
      }
      const top = pos * ROW, vp = this.viewport;
      if (top < vp.scrollTop || top + ROW > vp.scrollTop + vp.clientHeight) {
        vp.scrollTop = Math.max(0, top - vp.clientHeight / 2);
      }
    }

    setCurrent(index) {
      this.reveal(index);
      this.render();
    }

    render() {
      const scene = this.scene, vp = this.viewport;
      const first = Math.max(0, Math.floor(vp.scrollTop / ROW) - 2);
      const last = Math.min(this.rows.length, first + Math.ceil((vp.clientHeight || 400) / ROW) + 5);
      const out = [];
      for (let p = first; p < last; p++) {
        const i = this.rows[p];
        const e = scene.events[i];
        const frame = e[4] >= 0;
        const row = NV.el("div", { class: "row kind-" + e[3] + (i === this.app.index ? " current" : ""),
          "data-index": i, style: "top:" + p * ROW + "px" },
          NV.el("span", { class: "n", text: String(i + 1) }),
          NV.el("span", { class: "t", text: NV.fmtTime(e[0]) }),
          NV.el("span", { class: "node", text: e[1] }),
          NV.el("span", { class: "iface", text: e[2] || "" }),
          NV.el("span", { class: "dir", text: DIRECTION[e[3]] || e[3] }),
          NV.el("span", { class: "summary", text: scene.summary(i), title: scene.summary(i) }),
          NV.el("span", { class: "comment", text: frame ? (e[5] || "") : "", title: frame ? e[5] : null }));
        if (frame) row.querySelector(".summary").style.borderLeftColor = NV.PROTO_COLOURS[scene.protocol(e[4])];
        out.push(row);
      }
      this.body.replaceChildren(...out);
    }
  };
})(window.NV);
