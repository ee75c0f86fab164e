// state.js: the devices' tables at any event, rebuilt from the recorded deltas.
//
// netsim recorded, after each event, the rows that changed in every MAC table, ARP cache,
// routing table and TCP connection list. The state at event i is every delta up to and
// including i, applied in order. Checkpoints (a full copy every CHECKPOINT events) make a jump
// anywhere cost at most CHECKPOINT events of deltas, and a step back is exact by construction:
// the state is a function of the index, not of the path that led there.
"use strict";
(function (NV) {
  const CHECKPOINT = 256;

  function copy(tables) {
    const out = new Map();
    for (const [name, rows] of tables) out.set(name, new Map(rows));
    return out;
  }

  function apply(tables, d) {
    const [, table, key, row] = d;
    if (!tables.has(table)) tables.set(table, new Map());
    if (row === null) tables.get(table).delete(key);
    else tables.get(table).set(key, row);
  }

  NV.buildState = function (scene) {
    const deltas = scene.raw.state.deltas.slice().sort((a, b) => a[0] - b[0]);
    scene.deltas = deltas;
    scene.stateTables = scene.raw.state.tables || {};
    // checkpoints[c] = tables after every delta with index < c * CHECKPOINT (index -1 included).
    const checkpoints = [];
    let tables = new Map();
    let k = 0;
    for (let c = 0; c * CHECKPOINT <= scene.n; c++) {
      const limit = c * CHECKPOINT;
      while (k < deltas.length && deltas[k][0] < limit) apply(tables, deltas[k++]);
      checkpoints.push(copy(tables));
    }
    scene.checkpoints = checkpoints;
  };

  // {tables: Map(table -> Map(key -> row)), changed: Set("table\u0000key")} after event i.
  NV.stateAt = function (scene, i) {
    const c = Math.max(0, Math.min(scene.checkpoints.length - 1, Math.floor((i + 1) / CHECKPOINT)));
    const tables = copy(scene.checkpoints[c]);
    const deltas = scene.deltas;
    let k = NV.upperBound(deltas, c * CHECKPOINT - 1, (d) => d[0]);
    const changed = new Set();
    for (; k < deltas.length && deltas[k][0] <= i; k++) {
      apply(tables, deltas[k]);
      if (deltas[k][0] === i && i >= 0) changed.add(deltas[k][1] + "\u0000" + deltas[k][2]);
    }
    return { tables, changed };
  };
})(window.NV);
