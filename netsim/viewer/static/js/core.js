// core.js: the namespace, small DOM helpers, loading and checking the timeline, the Scene.
//
// The page only renders: every protocol fact (summaries, trees, filter fields, what a device
// did, the state deltas, the pairing of a transmission with its arrival) was computed by
// netsim in Python and stored in the timeline (docs/viewer.md). This file turns that data into
// a Scene with the indices the panels need, and refuses a damaged file with a readable error.
"use strict";
window.NV = window.NV || {};
(function (NV) {
  // The page as it was delivered, before any panel rendered: "Save layout" writes a copy of it
  // with new positions, so the saved file is as self-contained as the original.
  NV.PRISTINE = "<!DOCTYPE html>\n" + document.documentElement.outerHTML;

  NV.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  };

  const SVGNS = "http://www.w3.org/2000/svg";
  NV.svg = function (tag, attrs, text) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // Virtual time as netsim's format_time writes it: 1500 -> "1.500us".
  NV.fmtTime = function (ns) {
    if (ns >= 1e9) return (ns / 1e9).toFixed(6) + "s";
    if (ns >= 1e6) return (ns / 1e6).toFixed(3) + "ms";
    if (ns >= 1e3) return (ns / 1e3).toFixed(3) + "us";
    return Math.round(ns) + "ns";
  };

  NV.DataError = class DataError extends Error {};

  NV.showError = function (title, detail) {
    const box = document.getElementById("error");
    box.replaceChildren(NV.el("h2", { text: title }), NV.el("p", { text: detail }),
      NV.el("p", { class: "hint", text: "Make the file again with: netsim view TARGET --export FILE.html" }));
    box.hidden = false;
    document.body.classList.add("failed");
  };

  const FORMAT = "netsim-timeline";
  const VERSION = 1;
  const SCENE_ARRAYS = ["events", "frames", "summaries", "trees", "fields", "hops", "did", "tcp"];

  function need(cond, message) {
    if (!cond) throw new NV.DataError(message);
  }

  // Parse and check a timeline document; every problem is one readable sentence.
  NV.parseDocument = function (text) {
    need(typeof text === "string" && text.trim() !== "",
      "The page contains no timeline data.");
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new NV.DataError("The timeline data is damaged: it is not valid JSON (" + err.message + ").");
    }
    need(doc && typeof doc === "object" && !Array.isArray(doc), "The timeline data is not an object.");
    need(doc.format === FORMAT, "This is not a netsim timeline (format is " +
      JSON.stringify(doc.format) + ", expected \"" + FORMAT + "\").");
    need(Number.isInteger(doc.version), "The timeline has no version number.");
    need(doc.version <= VERSION, "This timeline was made by a newer netsim (format version " +
      doc.version + "; this page reads version " + VERSION + ").");
    need(Array.isArray(doc.scenes) && doc.scenes.length > 0, "The timeline has no scenes.");
    doc.scenes.forEach(checkScene);
    return doc;
  };

  function checkScene(s, n) {
    const where = "Scene " + (n + 1) + (s && s.name ? " (" + s.name + ")" : "");
    need(s && typeof s === "object", where + " is not an object.");
    for (const key of SCENE_ARRAYS) need(Array.isArray(s[key]), where + " has no list of " + key + ".");
    need(s.topology && Array.isArray(s.topology.nodes) && Array.isArray(s.topology.links),
      where + " has no topology.");
    need(s.state && Array.isArray(s.state.deltas), where + " has no state deltas.");
    const nf = s.frames.length;
    need(s.summaries.length === nf && s.trees.length === nf && s.fields.length === nf,
      where + ": the frame tables have different lengths.");
    need(s.did.length === s.events.length, where + ": the device notes do not match the events.");
    let last = -Infinity;
    s.events.forEach((ev, i) => {
      need(Array.isArray(ev) && ev.length === 6, where + ": event " + (i + 1) + " is not a 6-column row.");
      need(typeof ev[0] === "number" && ev[0] >= last, where + ": event " + (i + 1) + " is out of time order.");
      last = ev[0];
      need(Number.isInteger(ev[4]) && ev[4] >= -1 && ev[4] < nf,
        where + ": event " + (i + 1) + " refers to frame " + ev[4] + ", but there are " + nf + " frames.");
    });
    const ne = s.events.length;
    s.hops.forEach((h, i) => {
      need(Array.isArray(h) && h.length === 7 && h[0] >= 0 && h[0] < ne && h[1] >= -1 && h[1] < ne,
        where + ": hop " + (i + 1) + " refers to an event that does not exist.");
    });
    s.state.deltas.forEach((d, i) => {
      need(Array.isArray(d) && d.length === 4 && d[0] >= -1 && d[0] < ne,
        where + ": state change " + (i + 1) + " refers to an event that does not exist.");
    });
  }

  // Binary search: the number of items whose key(item) <= value.
  NV.upperBound = function (arr, value, key) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(arr[mid]) <= value) lo = mid + 1; else hi = mid;
    }
    return lo;
  };

  const PROTO_ORDER = ["tftp", "tcp", "udp", "icmp", "arp", "ip", "eth"];

  NV.Scene = class Scene {
    constructor(raw) {
      this.raw = raw;
      this.name = raw.name || "scene";
      this.events = raw.events;
      this.n = raw.events.length;
      this.topology = raw.topology;
      this._bytes = new Map();
      this.hops = raw.hops;
      this.hopsByTx = new Map();
      this.hopsByRx = new Map();
      this.maxHop = 0;
      raw.hops.forEach((h, k) => {
        if (!this.hopsByTx.has(h[0])) this.hopsByTx.set(h[0], []);
        this.hopsByTx.get(h[0]).push(k);
        if (h[1] >= 0) this.hopsByRx.set(h[1], k);
        this.maxHop = Math.max(this.maxHop, h[3] - h[2]);
      });
      this.times = raw.events.map((e) => e[0]);
      this.start = this.n ? this.times[0] : 0;
      this.end = Math.max(raw.end_ns || 0, this.n ? this.times[this.n - 1] : 0);
      this._buildMarks();
      NV.buildState(this);
    }
    ev(i) {
      const e = this.events[i];
      return { i, t: e[0], node: e[1], iface: e[2], kind: e[3], frame: e[4], note: e[5] };
    }
    bytes(fid) {
      if (!this._bytes.has(fid)) {
        const bin = atob(this.raw.frames[fid]);
        const out = new Uint8Array(bin.length);
        for (let k = 0; k < bin.length; k++) out[k] = bin.charCodeAt(k);
        this._bytes.set(fid, out);
      }
      return this._bytes.get(fid);
    }
    protocol(fid) {
      if (fid < 0) return "none";
      const p = this.raw.fields[fid].p || [];
      return PROTO_ORDER.find((x) => p.includes(x)) || "other";
    }
    summary(i) {
      const e = this.events[i];
      return e[4] >= 0 ? this.raw.summaries[e[4]] : (e[5] || "");
    }
    // Events at or before time t: the index of the last one (-1 if none).
    indexAt(t) {
      return NV.upperBound(this.times, t, (x) => x) - 1;
    }
    // A time shortly after t at which a mark made at t disappears: the second event after it.
    lingerEnd(t) {
      const k = NV.upperBound(this.times, t, (x) => x);
      return k + 1 < this.n ? this.times[k + 1] : (k < this.n ? this.times[k] : t) + Math.max(1, this.maxHop);
    }
    _buildMarks() {
      this.marks = [];
      this.hops.forEach((h, k) => {
        if (h[4] === "lost" || h[4] === "collision") {
          this.marks.push({ t: h[3], until: this.lingerEnd(h[3]), hop: k, reason: h[6], kind: h[4] });
        }
      });
      this.events.forEach((e, i) => {
        if (e[3] === "drop") {
          this.marks.push({ t: e[0], until: this.lingerEnd(e[0]), event: i, reason: e[5] || "dropped", kind: "drop" });
        }
      });
      this.marks.sort((a, b) => a.t - b.t);
    }
    // Hops on the wire at time t, for the current event index: moving ones, plus those that
    // start or end exactly at t (a step to a tx shows the envelope at the sender, a step to
    // an rx at the receiver).
    hopsAt(t) {
      const out = [];
      const hops = this.hops;
      let k = NV.upperBound(hops, t, (h) => h[2]) - 1;
      for (; k >= 0 && hops[k][2] >= t - this.maxHop; k--) {
        const h = hops[k];
        if (h[2] <= t && t <= h[3]) out.push(k);
      }
      return out.reverse();
    }
    marksAt(t) {
      return this.marks.filter((m) => m.t <= t && t <= m.until);
    }
  };
})(window.NV);
