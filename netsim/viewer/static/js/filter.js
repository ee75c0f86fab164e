// filter.js: netsim's display filters, evaluated in the page.
//
// A line-by-line port of netsim/trace/filters.py (same grammar, same words, same error
// messages) over the field values Python exported per frame (netsim/viewer/dissect.py
// filter_fields). tests/viewer/test_filters_js.py runs a corpus of filters through both and
// checks that they select the same events.
//
//   terms joined by "and"/"&&" and "or"/"||" ("and" binds tighter); a term is
//   eth arp ip icmp udp tcp tftp | tcp.flags.syn ... | field == value (!= < > <= >=) |
//   node NAME | iface h1-eth0 | kind rx | state | state ESTABLISHED | not TERM
"use strict";
(function (NV) {
  const PROTOCOLS = ["eth", "arp", "ip", "icmp", "udp", "tcp", "tftp"];
  const FLAGS = { fin: 0x01, syn: 0x02, rst: 0x04, reset: 0x04, psh: 0x08, push: 0x08,
    ack: 0x10, urg: 0x20, ece: 0x40, cwr: 0x80 };
  const FIELDS = ["arp.opcode", "eth.dst", "eth.src", "frame.len", "icmp.type", "ip.dst",
    "ip.proto", "ip.src", "ip.ttl", "tcp.ack", "tcp.dstport", "tcp.len", "tcp.seq",
    "tcp.srcport", "tcp.window", "udp.dstport", "udp.srcport"];
  const OPS = {
    "==": (a, b) => a === b, "!=": (a, b) => a !== b,
    "<": (a, b) => ordered(a, b) && a < b, ">": (a, b) => ordered(a, b) && a > b,
    "<=": (a, b) => ordered(a, b) && a <= b, ">=": (a, b) => ordered(a, b) && a >= b,
  };

  NV.FilterError = class FilterError extends Error {};

  function ordered(a, b) {
    // Python refuses to order an int against a str (TypeError); so does the page.
    if (typeof a !== typeof b) {
      throw new NV.FilterError("cannot compare " + pyRepr(a) + " with " + pyRepr(b));
    }
    return true;
  }

  // Python's repr() of a str, as the error messages of filters.py print words.
  function pyRepr(s) {
    if (typeof s !== "string") return String(s);
    if (s.includes("'") && !s.includes('"')) return '"' + s + '"';
    return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
  }

  function field(name) {
    if (name === "tcp.port" || name === "udp.port") {
      const layer = name.split(".")[0];
      return (f) => (f.p && f.p.includes(layer)) ? [f[layer + ".srcport"], f[layer + ".dstport"]] : null;
    }
    if (!FIELDS.includes(name)) {
      throw new NV.FilterError("unknown field " + pyRepr(name) + "; known fields: " +
        FIELDS.join(", ") + ", tcp.port, udp.port");
    }
    return (f) => (f[name] === undefined ? null : f[name]);
  }

  function coerce(text) {
    if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text, 16);
    if (/^\d+$/.test(text)) return parseInt(text, 10);
    return text.replace(/^["']+|["']+$/g, "").toLowerCase();
  }

  function norm(v) {
    return typeof v === "string" ? v.toLowerCase() : v;
  }

  // A predicate over an event view {node, iface, kind, note, fields (null: no frame)}.
  function term(words) {
    if (!words.length) throw new NV.FilterError("empty filter term");
    const head = words[0].toLowerCase();
    if (head === "not") {
      const inner = term(words.slice(1));
      return (ev) => !inner(ev);
    }
    if (head === "node" || head === "iface" || head === "kind") {
      if (words.length !== 2) {
        throw new NV.FilterError("'" + head + "' takes one name, e.g. '" + head + " h2'");
      }
      const want = words[1];
      if (head === "node") return (ev) => ev.node === want;
      if (head === "kind") return (ev) => ev.kind === want;
      // filters.py compares f"{node}-{iface}", and None prints as "None".
      return (ev) => ev.node + "-" + (ev.iface === null ? "None" : ev.iface) === want;
    }
    if (head === "state") {
      if (words.length === 1) return (ev) => ev.kind === "state";
      const want = words[1].toUpperCase();
      return (ev) => ev.kind === "state" && ev.note !== null && ev.note.trimEnd().endsWith(want);
    }
    if (words.length === 1) {
      if (PROTOCOLS.includes(head)) {
        return (ev) => ev.fields !== null && !!ev.fields.p && ev.fields.p.includes(head);
      }
      const m = /^tcp\.flags\.(\w+)$/.exec(head);
      if (m) {
        if (!(m[1] in FLAGS)) {
          throw new NV.FilterError("unknown TCP flag " + pyRepr(m[1]) + "; use one of " +
            Object.keys(FLAGS).join(", "));
        }
        const bit = FLAGS[m[1]];
        return (ev) => ev.fields !== null && ((ev.fields["tcp.flags"] || 0) & bit) !== 0;
      }
      throw new NV.FilterError("unknown filter word " + pyRepr(words[0]));
    }
    if (words.length === 3 && words[1] in OPS) {
      const get = field(head), op = OPS[words[1]], value = coerce(words[2]);
      return (ev) => {
        if (ev.fields === null || ev.fields.bad) return false;
        const got = get(ev.fields);
        if (got === null) return false;
        if (Array.isArray(got)) return got.some((g) => op(norm(g), value));
        return op(norm(got), value);
      };
    }
    throw new NV.FilterError("cannot read " + pyRepr(words.join(" ")) + ": expected e.g. " +
      "'tcp.flags.fin', 'ip.dst == 10.0.0.2', 'node h2'");
  }

  // Compile `text`; returns test(scene, i) -> bool. Throws NV.FilterError on a bad filter.
  NV.compileFilter = function (text) {
    const tokens = text.match(/==|!=|<=|>=|<|>|[^\s=!<>]+/g) || [];
    if (!tokens.length) throw new NV.FilterError("empty filter");
    const alternatives = [[[]]];
    for (const tok of tokens) {
      const low = tok.toLowerCase();
      if (low === "or" || low === "||") alternatives.push([[]]);
      else if (low === "and" || low === "&&") alternatives[alternatives.length - 1].push([]);
      else {
        const conj = alternatives[alternatives.length - 1];
        conj[conj.length - 1].push(tok);
      }
    }
    const compiled = alternatives.map((conj) => conj.map(term));
    return (scene, i) => {
      const e = scene.events[i];
      const ev = { node: e[1], iface: e[2], kind: e[3], note: e[5],
        fields: e[4] >= 0 ? scene.raw.fields[e[4]] : null };
      return compiled.some((conj) => conj.every((p) => p(ev)));
    };
  };
})(window.NV);
