// The pod's status page: renders each "status" event of /v1/stream.
// EventSource reconnects by itself when the stream ends (podd restarted);
// a stream refused outright (503: too many pages open) is retried here.
"use strict";

const $ = (id) => document.getElementById(id);
let lastEvent = 0;

function text(id, s) { $(id).textContent = s; }

function cls(el, prefix, value) {
  el.className = el.className.split(" ").filter((c) => !c.startsWith(prefix)).join(" ");
  el.classList.add(prefix + value);
}

function fmtTime(s) {
  if (!s || s.startsWith("0001-")) return "–";
  return new Date(s).toLocaleString();
}

function num(x, digits) { return x === null || x === undefined ? "unknown" : x.toFixed(digits); }

function rows(id, items, cells) {
  const body = $(id);
  body.replaceChildren(...items.map((it) => {
    const tr = document.createElement("tr");
    for (const [value, state] of cells(it)) {
      const td = document.createElement("td");
      td.textContent = value;
      if (state) td.className = "s-" + state;
      tr.append(td);
    }
    return tr;
  }));
}

function pairs(m) {
  const keys = Object.keys(m || {}).sort();
  return keys.length ? keys.map((k) => k + " " + m[k]).join(", ") : "none";
}

function render(v) {
  text("pod", v.pod);
  document.title = "podd " + v.pod + ": " + v.state;
  const st = $("state");
  st.textContent = v.state;
  cls(st, "s-", v.state);
  text("since", fmtTime(v.since));

  const s = v.safety;
  text("level", s.level);
  cls($("level"), "s-", s.level);
  text("latch", s.latch);
  text("safe-for", s.safe_for_s.toFixed(1));
  const l = $("latched");
  l.hidden = !s.latched;
  if (s.latched) {
    l.textContent = "Latched abort: " + s.latched.rule + " at " + fmtTime(s.latched.at) +
      (s.latched.detail ? " (" + s.latched.detail + ")" : "") +
      ". Check the sleeper; once the vitals are back in range, acknowledge with podctl ack.";
    l.className = "bad";
  }
  rows("rules", v.rules, (r) => [[r.rule], [r.state, r.state]]);

  $("vitals").hidden = !v.vitals_exposed;
  if (v.vitals_exposed) {
    text("hr", v.vitals.heart_rate_bpm == null ? "unknown" : num(v.vitals.heart_rate_bpm, 1) + " bpm");
    text("spo2", v.vitals.spo2_pct == null ? "unknown" : num(v.vitals.spo2_pct, 1) + " %");
    text("contact", v.vitals.contact);
    text("vitals-note", "The sleeper's vitals are shown because api.expose_vitals is set: any user of this machine can read them on this port.");
  } else {
    text("vitals-note", "The sleeper's vitals are hidden: any user of this machine can read this port. Set api.expose_vitals to show them here and in /metrics.");
  }

  const o = v.outputs;
  text("outputs-safe", o.safe ? "in their safe state" : "playing");
  text("holds", o.holds && o.holds.length ? "held: " + o.holds.join(", ") : "");
  $("unsafe").hidden = !(o.unsafe && o.unsafe.length);
  text("unsafe", o.unsafe && o.unsafe.length ? "Not safe yet: " + o.unsafe.join(", ") : "");
  const sh = v.show;
  if (!sh) {
    text("show", "No show loop.");
  } else {
    let d = (sh.program || "steady ambient light") + (sh.playing ? " playing" : " not playing") +
      " on zones " + (sh.zones || []).join(", ") + (sh.places && sh.places.length ? "; places " + sh.places.join(", ") : "");
    if (sh.limited && sh.limited.length) d += "; limited by a guard: " + sh.limited.join(", ");
    if (sh.wake != null) d += "; wake ramp " + Math.round(sh.wake * 100) + " %";
    if (sh.selftest) d += "; self-test " + sh.selftest;
    d += ". Frames " + sh.frames + ", skipped " + sh.skipped + ", jitter p99 " + sh.jitter_p99_ms.toFixed(1) + " ms.";
    if (sh.write_error) d += " Write error: " + sh.write_error;
    text("show", d);
  }

  rows("sensors", v.sensors || [], (x) => [[x.name], [x.state + (x.error ? ": " + x.error : ""), x.state === "ok" ? "" : "warn"],
    [fmtTime(x.since)], [String(x.poll_errors + x.open_errors)], [String(x.reopens)]]);

  const u = v.uplink;
  text("broker", u.broker || "–");
  text("connected", u.connected ? "connected" : "not connected");
  text("outbox", u.outbox < 0 ? "unknown" : String(u.outbox));
  text("unstored", String(u.unstored));
  const problems = [];
  if (u.duplicate) problems.push("NOT PUBLISHING: " + u.duplicate);
  if (u.commands_refused) problems.push("the broker refused the command subscriptions");
  if (u.hub && u.hub !== "online") problems.push("hub " + u.hub);
  $("uplink-problem").hidden = problems.length === 0;
  text("uplink-problem", problems.join("; "));

  text("time", fmtTime(v.time));
  text("clock", v.clock_synced ? "synchronised" : "NOT synchronised");

  rows("parts", v.parts || [], (p) => [[p.name], [p.state + (p.error ? ": " + p.error : ""), p.state === "up" ? "" : "warn"], [String(p.failures)]]);
  text("loops", (v.loops || []).map((x) => x.name + " " + (x.since_turn_s == null ? "not started" : x.since_turn_s.toFixed(2) + " s")).join(", "));
  text("aborts", pairs(v.counts && v.counts.aborts));
  text("dropped", pairs(v.counts && v.counts.dropped));
  text("version", v.version);
  text("simulated", v.simulated ? " (simulated hardware)" : "");
}

function connection(state, label) {
  const c = $("conn");
  c.textContent = label;
  c.className = "conn " + state;
}

function connect() {
  const es = new EventSource("v1/stream");
  es.addEventListener("status", (e) => {
    lastEvent = Date.now();
    connection("live", "live");
    render(JSON.parse(e.data));
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // Refused (503, too many pages) rather than cut: EventSource gives up.
      connection("lost", "refused by podd, retrying in 5 s");
      setTimeout(connect, 5000);
      return;
    }
    connection("lost", "connection lost, reconnecting…");
  };
}

setInterval(() => {
  if (lastEvent && Date.now() - lastEvent > 3000 && $("conn").classList.contains("live")) {
    connection("lost", "no update for " + Math.round((Date.now() - lastEvent) / 1000) + " s");
  }
}, 1000);

connect();
