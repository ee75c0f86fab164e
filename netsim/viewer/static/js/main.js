// main.js: load the timeline, build the panels, keep them on one position.
//
// App holds the position (an event index, -1 before the first event) and the time the picture
// is drawn at. Everything shown is a function of those two, so Back is exact and a row click,
// the scrubber and "run to next match" are all the same select().
"use strict";
(function (NV) {
  NV.App = class App {
    constructor(doc) {
      this.doc = doc;
      this.controls = new NV.Controls(document.getElementById("controls"), this);
      this.player = new NV.Player(this);
      this.topology = new NV.Topology(document.getElementById("topology-panel"), this);
      this.events = new NV.EventList(document.getElementById("events-panel"), this);
      this.inspector = new NV.Inspector(document.getElementById("inspector-panel"), this);
      this.device = new NV.DevicePanel(document.getElementById("device-panel"));
      this.state = new NV.StatePanels(document.getElementById("state-panel"));
      this.ladder = new NV.Ladder(document.getElementById("ladder-panel"), this);
      document.getElementById("doc-title").textContent = doc.title || "";
      const select = document.getElementById("scene-select");
      select.replaceChildren(...doc.scenes.map((s, k) => NV.el("option", { value: k, text: s.name })));
      document.getElementById("scene-box").hidden = doc.scenes.length < 2;
      select.addEventListener("change", () => this.setScene(Number(select.value)));
      document.getElementById("save-layout").addEventListener("click", () => this.saveLayout());
      this.scenes = [];
      this.setScene(0);
    }

    setScene(k, keep) {
      this.player.stop();
      const at = keep ? [this.index, this.time] : null;
      if (!this.scenes[k]) this.scenes[k] = new NV.Scene(this.doc.scenes[k]);
      const scene = this.scene = this.scenes[k];
      document.getElementById("scene-select").value = String(k);
      document.getElementById("source").textContent = scene.raw.source || "";
      const notes = document.getElementById("notes");
      notes.replaceChildren(...(scene.raw.notes || []).map((n) => NV.el("p", { text: n })));
      notes.hidden = !(scene.raw.notes || []).length;
      document.body.dataset.scene = scene.name;
      this.index = -2;
      this.time = scene.start;
      this.controls.setScene(scene);
      this.topology.setScene(scene);
      this.events.setScene(scene);
      this.ladder.setScene(scene);
      this.moveTo(-1, scene.start);
      if (at) this.moveTo(...at);
      this.settle();
    }

    // Live mode: whether the server can run the current scene further.
    get more() {
      return !!(NV.LIVE && this.scene.raw.live && this.scene.raw.live.more);
    }

    // Live mode: ask the server for more events of the current scene, then carry on with
    // `then` (the step or the play that ran out of events).
    fetchMore(then) {
      const k = this.doc.scenes.indexOf(this.scene.raw);
      const want = this.scene.n + (NV.LIVE.chunk || 200);
      document.body.dataset.settled = "0";
      fetch(NV.LIVE.url + "?scene=" + k + "&events=" + want)
        .then((r) => r.text().then((text) => {
          if (!r.ok) throw new NV.DataError("the server said " + r.status + ": " + text);
          return text;
        }))
        .then((text) => {
          // The same event may sit a little elsewhere in the longer timeline (a hub records a
          // transmission when it ends, stamped with its start): find it again.
          const old = this.index >= 0 ? JSON.stringify(this.scene.events[this.index]) : null;
          this.doc = NV.parseDocument(text);
          this.scenes = [];
          this.setScene(k, true);
          if (old !== null && JSON.stringify(this.scene.events[this.index]) !== old) {
            const near = this.scene.events.findIndex((e) => JSON.stringify(e) === old);
            if (near >= 0) this.moveTo(near, this.scene.times[near]);
          }
          then();
        })
        .catch((err) => NV.showError("The live simulation stopped answering", String(err.message || err)));
    }

    // Draw the moving parts (envelopes, marks, ladder) at time t.
    drawAt(t) {
      this.time = t;
      this.topology.render(t, this.index);
      this.ladder.render(t);
      this.refreshControls();
    }

    // Put the position at `index` (panels follow) and draw at time `t`.
    moveTo(index, t) {
      if (index !== this.index) {
        this.index = index;
        const scene = this.scene;
        this.events.setCurrent(index);
        this.inspector.show(scene, index);
        this.device.show(scene, index);
        this.state.show(scene, index);
        this.ladder.follow(index);
      }
      this.drawAt(t);
    }

    refreshControls() {
      if (!this.scene) return;
      this.controls.update(this.scene, this.index, this.time, this.player.playing);
    }

    settle() {
      if (!document.body) return;
      document.body.dataset.settled = this.player.playing || this.player.gliding ? "0" : "1";
    }

    select(index, { glide = true } = {}) {
      const scene = this.scene;
      index = Math.max(-1, Math.min(scene.n - 1, index));
      this.player.stop();
      const to = index >= 0 ? scene.times[index] : scene.start;
      const from = this.time;
      if (glide && index === this.index + 1 && to > from) {
        document.body.dataset.settled = "0";
        this.moveTo(index, from);
        this.player.glide(from, to, (t) => { this.drawAt(t); this.settle(); });
        return;
      }
      this.moveTo(index, to);
      this.settle();
    }

    stepForward() {
      if (this.index >= this.scene.n - 1 && this.more) this.fetchMore(() => this.select(this.index + 1));
      else this.select(this.index + 1);
    }
    stepBack() { this.select(this.index - 1, { glide: false }); }

    toggle() {
      if (this.player.playing) this.player.stop();
      else this.player.play();
      this.settle();
    }

    runToNextMatch() {
      const scene = this.scene;
      for (let i = this.index + 1; i < scene.n; i++) {
        if (this.events.matches(i)) { this.select(i, { glide: false }); return; }
      }
      document.getElementById("filter-error").textContent = "no later event matches";
    }

    layoutChanged() {
      document.getElementById("save-layout").disabled = false;
    }

    // This page again, with the devices where they are now (null: not an exported page).
    layoutHtml() {
      const data = JSON.stringify(this.doc).replace(/</g, "\\u003c");  // the data cannot end its block
      const open = '<script id="netsim-data" type="application/json">';
      const start = NV.PRISTINE.indexOf(open);
      const end = NV.PRISTINE.indexOf("</" + "script>", start);
      if (start < 0 || end < 0) return null;
      // A live page saves as an export: its data inline, no server to ask.
      const page = NV.PRISTINE.slice(0, start + open.length) + data + NV.PRISTINE.slice(end);
      return page.replace(/<script id="netsim-live">[^<]*<\/script>\n?/, "");
    }

    saveLayout() {
      const html = this.layoutHtml();
      if (html === null) {
        NV.showError("Cannot save the layout", "this page was not made by netsim view --export");
        return;
      }
      const a = NV.el("a", { href: URL.createObjectURL(new Blob([html], { type: "text/html" })),
        download: (this.doc.title || "netsim-view").replace(/[^\w.-]+/g, "-") + ".html" });
      document.body.append(a);
      a.click();
      a.remove();
    }
  };

  function start(text) {
    try {
      const doc = NV.parseDocument(text);
      document.body.classList.remove("empty-doc");
      NV.app = new NV.App(doc);
      performance.mark("netsim-ready");  // the browser test reports the time to here
      document.body.dataset.ready = "1";
    } catch (err) {
      if (err instanceof NV.DataError) NV.showError("This timeline cannot be shown", err.message);
      else NV.showError("The viewer failed", String(err && err.stack || err));
      document.body.dataset.ready = "error";
    }
  }

  window.addEventListener("error", (ev) => {
    NV.showError("The viewer failed", ev.message + (ev.filename ? " (" + ev.filename + ":" + ev.lineno + ")" : ""));
  });

  document.getElementById("open-file").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    file.text().then((text) => {
      // An exported page holds its data in a script block; a .json file is the data itself.
      const m = /<script id="netsim-data" type="application\/json">([\s\S]*?)<\/script>/.exec(text);
      document.getElementById("error").hidden = true;
      start(m ? m[1] : text);
    });
  });

  NV.LIVE = window.NV_LIVE || null;
  const embedded = document.getElementById("netsim-data").textContent;
  if (NV.LIVE) {
    fetch(NV.LIVE.url + "?scene=0").then((r) => r.text()).then(start)
      .catch((err) => NV.showError("The live simulation does not answer", String(err.message || err)));
  } else if (embedded.trim()) start(embedded);
  else {
    document.body.classList.add("empty-doc");
    document.body.dataset.ready = "empty";
  }
})(window.NV);
