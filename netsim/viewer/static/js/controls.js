// controls.js: the player. Play/pause, step forward and back, a speed slider (a fraction of
// virtual time), run to the next filter match, a timeline scrubber, and the keys
// (space, arrows, / for the filter, n for the next match, Home for the start).
//
// The position is an event index; the picture is drawn at a virtual time. Stepping forward
// glides the time from one event to the next (envelopes slide along their cables); stepping
// back jumps, and since every panel is a function of the index the previous state comes back
// exactly. Playing advances virtual time at the chosen speed and skips idle stretches.
"use strict";
(function (NV) {
  const GLIDE_MAX_MS = 600;  // a step never takes longer than this on screen
  const IDLE_SKIP_S = 0.6;   // while playing, jump over gaps longer than this (wall time)

  NV.Controls = class Controls {
    constructor(root, app) {
      this.app = app;
      const b = (id, text, title, fn) => NV.el("button", { id, title, text, onclick: fn });
      this.playBtn = b("play", "▶ play", "play / pause (space)", () => app.toggle());
      this.speed = NV.el("input", { id: "speed", type: "range", min: "-6", max: "0", step: "0.05",
        value: "-3", "aria-label": "speed" });
      this.speedLabel = NV.el("span", { id: "speed-label", class: "speed-label" });
      this.clock = NV.el("span", { id: "clock", class: "clock" });
      this.position = NV.el("span", { id: "position", class: "position" });
      this.scrub = NV.el("input", { id: "scrubber", type: "range", min: "-1", max: "0", step: "1", value: "-1",
        "aria-label": "timeline" });
      root.replaceChildren(
        NV.el("div", { class: "buttons" },
          b("to-start", "|◀ start", "back to the start (Home)", () => app.select(-1, { glide: false })),
          b("step-back", "◀ back", "step back (←)", () => app.stepBack()),
          this.playBtn,
          b("step-forward", "step ▶", "step forward (→)", () => app.stepForward()),
          b("run-to-match", "to match ▶▶", "run to the next event matching the filter (n)", () => app.runToNextMatch()),
          NV.el("label", { class: "speed" }, "speed ", this.speed, this.speedLabel),
          this.clock, this.position),
        this.scrub);
      this.speed.addEventListener("input", () => this.showSpeed());
      this.scrub.addEventListener("input", () => app.select(Number(this.scrub.value), { glide: false }));
      document.addEventListener("keydown", (ev) => this.key(ev));
    }

    setScene(scene) {
      this.scrub.max = String(Math.max(0, scene.n - 1));
      this.speed.value = String(Math.log10(Math.min(1, Math.max(1e-6, scene.raw.speed || 1e-3))).toFixed(2));
      this.showSpeed();
    }

    get factor() {
      return Math.pow(10, Number(this.speed.value));
    }

    showSpeed() {
      const f = this.factor;
      const text = f >= 0.01 ? f.toFixed(2) : f.toExponential(1).replace("e", "e");
      this.speedLabel.textContent = "×" + text + " of virtual time";
    }

    update(scene, index, time, playing) {
      this.clock.textContent = "t = " + NV.fmtTime(Math.max(0, time));
      this.position.textContent = "event " + (index + 1) + " / " + scene.n;
      this.scrub.value = String(index);
      this.playBtn.textContent = playing ? "‖ pause" : "▶ play";
    }

    key(ev) {
      const tag = (ev.target && ev.target.tagName) || "";
      if (tag === "INPUT" && ev.target.type === "text") return;
      if (tag === "SELECT") return;
      const app = this.app;
      if (ev.key === " ") { ev.preventDefault(); app.toggle(); }
      else if (ev.key === "ArrowRight") { ev.preventDefault(); app.stepForward(); }
      else if (ev.key === "ArrowLeft") { ev.preventDefault(); app.stepBack(); }
      else if (ev.key === "/") { ev.preventDefault(); document.getElementById("filter").focus(); }
      else if (ev.key === "n") { app.runToNextMatch(); }
      else if (ev.key === "Home") { app.select(-1, { glide: false }); }
    }
  };

  NV.Player = class Player {
    constructor(app) {
      this.app = app;
      this.raf = null;
      this.playing = false;
    }

    cancel() {
      if (this.raf !== null) cancelAnimationFrame(this.raf);
      this.raf = null;
      this.gliding = false;
    }

    // Move the picture's time from `from` to `to` over a short, speed-scaled wall time.
    glide(from, to, done) {
      this.cancel();
      const wallMs = Math.min(GLIDE_MAX_MS, (to - from) / 1e9 / this.app.controls.factor * 1000);
      if (!(wallMs > 16)) { done(to); return; }
      this.gliding = true;
      const start = performance.now();
      const frame = (now) => {
        const f = Math.min(1, (now - start) / wallMs);
        this.app.drawAt(from + (to - from) * f);
        if (f < 1) this.raf = requestAnimationFrame(frame);
        else { this.raf = null; this.gliding = false; done(to); }
      };
      this.raf = requestAnimationFrame(frame);
    }

    play() {
      this.cancel();
      const app = this.app, scene = app.scene;
      if (app.index >= scene.n - 1 && !app.more) app.select(-1, { glide: false });
      this.playing = true;
      let last = performance.now();
      let t = app.index >= 0 ? app.time : scene.start;
      const frame = (now) => {
        const dt = Math.min(0.1, (now - last) / 1000);
        last = now;
        const rate = app.controls.factor * 1e9;  // virtual ns per wall second
        t += dt * rate;
        const next = app.index + 1 < scene.n ? scene.times[app.index + 1] : scene.end;
        if (!scene.hopsAt(t).length && next - t > IDLE_SKIP_S * rate) t = next - 0.25 * rate;
        t = Math.min(t, scene.end);
        const index = scene.indexAt(t);
        app.moveTo(index, t);
        if (index >= scene.n - 1 && t >= scene.end) {
          this.stop();
          if (app.more) app.fetchMore(() => this.play());  // live: run the simulation on
          return;
        }
        this.raf = requestAnimationFrame(frame);
      };
      this.raf = requestAnimationFrame(frame);
      app.refreshControls();
      app.settle();
    }

    stop() {
      this.cancel();
      this.playing = false;
      this.app.refreshControls();
      this.app.settle();
    }
  };
})(window.NV);
