// The Tontine coordinator dashboard: polls the JSON API every few seconds and draws the page.
// No libraries, nothing fetched from elsewhere. The admin token, when entered, is kept in this
// tab's sessionStorage and sent as "Authorization: Bearer …".
"use strict";

const POLL_MS = 3000;
const PHASES = ["advertise_keys", "share_keys", "masked_input", "unmask"];
const COLOURS = ["#0b6bcb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0a7a8a", "#cf222e",
                 "#6e7781", "#953800", "#116329", "#5a32a3", "#9a6700"];
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("tontine-admin-token") || "";
let admin = false;

function headers() {
  return token ? { Authorization: "Bearer " + token } : {};
}

async function getJson(path) {
  const response = await fetch(path, { headers: headers(), cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || response.status + " " + response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function text(id, value) { $(id).textContent = value; }

function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function fixed(x, digits) { return x == null ? "–" : Number(x).toFixed(digits); }

function cell(row, value, numeric) {
  const td = row.insertCell();
  td.textContent = value;
  if (numeric) td.className = "num";
  return td;
}

function drawSummary(s) {
  text("experiment", s.experiment ? s.experiment.name : "(no experiment)");
  const status = $("experiment-status");
  status.textContent = s.experiment ? s.experiment.status : "";
  status.className = "badge " + (s.experiment ? s.experiment.status : "");
  text("version", "coordinator " + s.coordinator_version);
  text("connected", s.participants_connected);
  text("enrolled", s.participants_enrolled);
  const r = s.current_round;
  if (r) {
    text("round", r.number + " / " + s.rounds_target);
    const elapsed = Math.max(0, (Date.now() - Date.parse(r.started)) / 1000);
    text("round-detail", "in progress for " + elapsed.toFixed(0) + " s; " + s.rounds_committed +
         " committed, " + s.rounds_aborted + " aborted");
    text("phase-counts", r.cohort + " invited: " + r.done + " done, " + r.awaited +
         " awaited, " + r.dropped + " dropped");
  } else {
    text("round", s.rounds_committed + " / " + s.rounds_target);
    text("round-detail", "no round in flight; " + s.rounds_committed + " committed, " +
         s.rounds_aborted + " aborted");
    text("phase-counts", "");
  }
  const current = r ? PHASES.indexOf(r.phase) : -1;
  for (const li of $("phases").children) {
    const i = PHASES.indexOf(li.dataset.phase);
    li.className = i === current ? "current" : (current >= 0 && i < current ? "done" : "");
  }
  if (s.latest_adapter) {
    text("adapter", "v" + s.latest_adapter.version);
    text("adapter-detail", s.latest_adapter.sha256.slice(0, 16) + "… " +
         bytes(s.latest_adapter.size_bytes));
  }
}

function drawRounds(rounds) {
  const body = $("rounds").tBodies[0];
  body.replaceChildren();
  for (const r of rounds.slice().reverse()) {
    const row = body.insertRow();
    row.className = r.outcome;
    cell(row, r.number, true);
    cell(row, r.outcome + (r.reason ? ": " + r.reason : ""));
    cell(row, r.participants, true);
    const phases = Object.entries(r.dropped_by_phase).map(([p, n]) => n + " in " + p);
    cell(row, r.dropped + (phases.length ? " (" + phases.join(", ") + ")" : ""), true);
    cell(row, fixed(r.macro_perplexity, 2), true);
    cell(row, bytes(r.bytes_up), true);
    cell(row, bytes(r.bytes_down), true);
    cell(row, fixed(r.seconds, 1), true);
  }
  drawChart(rounds.filter((r) => r.outcome === "committed" && r.macro_perplexity != null));
}

function svg(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  if (parent) parent.appendChild(element);
  return element;
}

// Round numbers at 1-2-5 steps.
function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// Each committed round measured the adapter it started from: round N's point is the held-out
// perplexity of the adapter before round N's update.
function drawChart(rounds) {
  const box = $("chart");
  if (rounds.length === 0) return;
  const languages = [...new Set(rounds.flatMap((r) => Object.keys(r.perplexity_by_language)))].sort();
  const series = [{ name: "macro", macro: true, points: rounds.map((r) => [r.number, r.macro_perplexity]) }];
  languages.forEach((l) => series.push({
    name: l, points: rounds.filter((r) => l in r.perplexity_by_language)
                           .map((r) => [r.number, r.perplexity_by_language[l]]) }));
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const yStep = niceStep(hi - lo, 5);
  lo = Math.floor(lo / yStep) * yStep; hi = Math.ceil(hi / yStep) * yStep;
  const x0 = rounds[0].number, x1 = Math.max(rounds[rounds.length - 1].number, x0 + 1);
  const W = 900, H = 320, L = 50, R = 110, T = 12, B = 36;
  const px = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = (y) => T + (hi - y) / (hi - lo) * (H - T - B);
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
                            "aria-label": "held-out perplexity per round" });
  for (let y = lo; y <= hi + yStep / 2; y += yStep) {
    svg("line", { x1: L, x2: W - R, y1: py(y), y2: py(y), class: "grid" }, root);
    svg("text", { x: L - 6, y: py(y) + 4, "text-anchor": "end" }, root).textContent =
        Number(y.toFixed(6));
  }
  const xStep = Math.max(1, niceStep(x1 - x0, 10));
  for (let x = x0; x <= x1; x += xStep) {
    svg("text", { x: px(x), y: H - B + 16, "text-anchor": "middle" }, root).textContent = x;
  }
  svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle" }, root).textContent = "round";
  svg("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }, root);
  svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }, root);
  series.forEach((s, i) => {
    const colour = s.macro ? "#1b1f24" : COLOURS[i % COLOURS.length];
    const d = s.points.map((p, j) => (j ? "L" : "M") + px(p[0]).toFixed(1) + " " + py(p[1]).toFixed(1)).join(" ");
    const path = svg("path", { d: d, stroke: colour, class: "series" + (s.macro ? " macro" : "") }, root);
    svg("title", {}, path).textContent = s.name;
    if (s.points.length === 1) {
      svg("circle", { cx: px(s.points[0][0]), cy: py(s.points[0][1]), r: 3, fill: colour }, root);
    }
    const ly = T + 14 * i + 8;
    svg("line", { x1: W - R + 10, x2: W - R + 28, y1: ly - 4, y2: ly - 4, stroke: colour,
                  "stroke-width": s.macro ? 3 : 1.5 }, root);
    svg("text", { x: W - R + 34, y: ly }, root).textContent = s.name;
  });
  box.replaceChildren(root);
}

function download(version, format) {
  fetch("/api/v1/adapters/" + version + "/peft." + format, { headers: headers() })
    .then((response) => {
      if (!response.ok) throw new Error("download failed: " + response.status);
      const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
      return response.blob().then((blob) => [blob, name ? name[1] : "adapter." + format]);
    })
    .then(([blob, name]) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    })
    .catch(showError);
}

function drawAdapters(adapters) {
  const body = $("adapters").tBodies[0];
  body.replaceChildren();
  for (const a of adapters.slice().reverse()) {
    const row = body.insertRow();
    cell(row, "v" + a.version);
    cell(row, a.round == null ? "initial" : a.round);
    cell(row, bytes(a.size_bytes), true);
    cell(row, a.sha256.slice(0, 16) + "…").className = "mono";
    cell(row, a.created.replace("T", " ").slice(0, 19));
    const links = cell(row, "");
    if (!admin) {
      links.textContent = "admin token needed";
      links.className = "muted";
      continue;
    }
    for (const format of ["tar", "zip"]) {
      const link = document.createElement("a");
      link.href = "#";
      link.className = "download";
      link.textContent = format;
      link.addEventListener("click", (e) => { e.preventDefault(); download(a.version, format); });
      links.appendChild(link);
    }
  }
}

function drawParticipants(participants) {
  const table = $("participants");
  table.hidden = false;
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const p of participants) {
    const row = body.insertRow();
    cell(row, p.id).className = "mono";
    cell(row, Object.entries(p.tags).map(([k, v]) => k + "=" + v).join(", "));
    cell(row, p.enrolled.replace("T", " ").slice(0, 16));
    cell(row, p.last_seen ? p.last_seen.replace("T", " ").slice(0, 19) : "never");
    cell(row, p.revoked ? "revoked" : (p.connected ? "yes" : "no"));
  }
}

function showError(error) {
  const box = $("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

async function refresh() {
  try {
    const [summary, rounds, adapters] = await Promise.all([
      getJson("/api/v1/summary"), getJson("/api/v1/rounds"), getJson("/api/v1/adapters")]);
    drawSummary(summary);
    drawRounds(rounds.rounds);
    drawAdapters(adapters.adapters);
    if (admin) drawParticipants((await getJson("/api/v1/participants")).participants);
    text("updated", "updated " + new Date().toLocaleTimeString());
    showError(null);
  } catch (error) {
    showError(error.status === 401 ? "This dashboard needs the admin token." : error);
  }
}

async function unlock(candidate) {
  token = candidate;
  try {
    await getJson("/api/v1/session");
    admin = true;
    sessionStorage.setItem("tontine-admin-token", token);
    text("token-state", "unlocked");
  } catch (error) {
    admin = false;
    token = "";
    sessionStorage.removeItem("tontine-admin-token");
    text("token-state", error.status === 401 ? "wrong token" : String(error.message));
  }
  $("forget").hidden = !admin;
  $("participants").hidden = !admin;
  refresh();
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  unlock($("token").value.trim());
  $("token").value = "";
});
$("forget").addEventListener("click", () => {
  sessionStorage.removeItem("tontine-admin-token");
  token = "";
  admin = false;
  $("forget").hidden = true;
  $("participants").hidden = true;
  text("token-state", "");
  refresh();
});

if (token) unlock(token); else refresh();
setInterval(refresh, POLL_MS);
