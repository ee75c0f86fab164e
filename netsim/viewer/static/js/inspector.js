// inspector.js: the PDU inspector, as in Wireshark: the layered tree of the current frame and
// its bytes, with the selected field's bytes highlighted. The tree and each field's byte range
// come from netsim (netsim/viewer/dissect.py); this only draws them.
"use strict";
(function (NV) {
  function hex2(b) {
    return b.toString(16).padStart(2, "0");
  }

  NV.Inspector = class Inspector {
    constructor(root, app) {
      this.app = app;
      this.title = NV.el("div", { class: "panel-title", text: "PDU inspector" });
      this.tree = NV.el("div", { class: "tree", id: "pdu-tree" });
      this.hex = NV.el("pre", { class: "hex", id: "pdu-hex" });
      root.replaceChildren(this.title, NV.el("div", { class: "inspector-body" }, this.tree, this.hex));
      this.tree.addEventListener("click", (ev) => {
        const line = ev.target.closest("[data-off]");
        if (!line) return;
        ev.preventDefault();
        this.highlight(Number(line.dataset.off), Number(line.dataset.len), line);
      });
      this.fid = null;
      window.addEventListener("resize", () => { this.per = 0; });
    }

    show(scene, index) {
      const fid = index >= 0 ? scene.events[index][4] : -1;
      if (fid === this.fid && scene === this.scene) return;
      this.scene = scene;
      this.fid = fid;
      this.selected = null;
      if (fid < 0) {
        const text = index >= 0 ? "event #" + (index + 1) + " carries no frame: " + (scene.events[index][5] || "")
          : "step to an event to see its frame";
        this.title.textContent = "PDU inspector";
        this.tree.replaceChildren(NV.el("p", { class: "empty", text }));
        this.hex.replaceChildren();
        return;
      }
      this.title.textContent = "PDU inspector: " + scene.raw.summaries[fid];
      this.tree.replaceChildren(...scene.raw.trees[fid].map((layer) => this.layer(layer)));
      this.drawHex(scene.bytes(fid));
    }

    layer(layer) {
      const [name, off, len, fields] = layer;
      const det = NV.el("details", { open: true, class: "layer" });
      det.append(NV.el("summary", { "data-off": off, "data-len": len, text: name }));
      for (const f of fields) det.append(this.field(f));
      return det;
    }

    field(f) {
      const [label, off, len, children] = f;
      const div = NV.el("div", { class: "field" },
        NV.el("span", { class: "label", "data-off": off, "data-len": len, text: label }));
      if (children && children.length) {
        const sub = NV.el("div", { class: "children" });
        for (const c of children) sub.append(this.field(c));
        div.append(sub);
      }
      return div;
    }

    // The dump is plain text lines; a highlighted field wraps its bytes in <mark> (the dump is
    // rebuilt on a click, which is rare, rather than made of one element per byte, which would
    // cost every step).
    drawHex(bytes, off = -1, len = 0) {
      this.bytes = bytes;
      // 16 bytes a line as Wireshark when the pane is wide enough; measured once (and on a
      // resize), since reading a width in every step would force a layout each time.
      if (!this.per) this.per = (this.hex.clientWidth || 600) >= 470 ? 16 : 8;
      const per = this.per;
      const esc = (c) => (c === "<" ? "&lt;" : c === "&" ? "&amp;" : c === ">" ? "&gt;" : c);
      const lit = (k) => k >= off && k < off + len;
      const out = [];
      for (let row = 0; row < bytes.length; row += per) {
        let hex = "", ascii = "";
        for (let k = row; k < Math.min(row + per, bytes.length); k++) {
          const b = bytes[k];
          const h = hex2(b), c = esc(b >= 32 && b < 127 ? String.fromCharCode(b) : ".");
          hex += (lit(k) ? '<mark class="b">' + h + "</mark>" : h) + " ";
          ascii += lit(k) ? '<mark class="c">' + c + "</mark>" : c;
        }
        out.push('<div class="hexline"><span class="off">' + row.toString(16).padStart(4, "0") +
          '</span><span class="bytes">' + hex + '</span><span class="ascii">' + ascii + "</span></div>");
      }
      this.hex.innerHTML = out.join("");
    }

    highlight(off, len, line) {
      if (this.selected) this.selected.classList.remove("selected");
      this.selected = line;
      line.classList.add("selected");
      this.drawHex(this.bytes, off, len);
    }
  };

  // "What this device did": Packet Tracer's in-layers and out-layers, written by netsim.
  NV.DevicePanel = class DevicePanel {
    constructor(root) {
      this.root = root;
    }

    show(scene, index) {
      if (index < 0) {
        this.root.replaceChildren(NV.el("div", { class: "panel-title", text: "What the device did" }),
          NV.el("p", { class: "empty", text: "nothing has happened yet" }));
        return;
      }
      const did = scene.raw.did[index] || { title: scene.summary(index), in: [], out: [] };
      const list = (title, items, cls) => items && items.length
        ? NV.el("div", { class: "layers " + cls }, NV.el("h4", { text: title }),
          NV.el("ol", {}, ...items.map((x) => NV.el("li", { text: x }))))
        : null;
      this.root.replaceChildren(
        NV.el("div", { class: "panel-title", text: "What " + scene.events[index][1] + " did (event #" + (index + 1) + ")" }),
        NV.el("p", { class: "did-title", id: "did-title", text: did.title }),
        NV.el("div", { class: "inout" }, list("In layers", did.in, "in"), list("Out layers", did.out, "out")));
    }
  };
})(window.NV);
