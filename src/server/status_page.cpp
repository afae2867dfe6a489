#include "doorman/server/status_page.hpp"

namespace doorman::server {

// Element ids are part of the page's contract: tests/integration/test_server_metrics.py reads
// them (uptime, active, count-NAME, worker-N-accepted, worker-N-share, last-update).
const std::string_view kStatusPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>doorman status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
  .meta { color: #5b6475; }
  .tiles { display: flex; flex-wrap: wrap; gap: .6em; }
  .tile { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: .5em .9em; min-width: 7.5em; }
  .tile .label { color: #5b6475; font-size: .85em; }
  .tile .value { font-size: 1.5em; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; background: #fff; }
  th, td { border: 1px solid #d8dce3; padding: .25em .7em; text-align: right; font-variant-numeric: tabular-nums; }
  th { background: #e9ecf1; }
  .bar { background: #3b7dd8; height: .7em; display: inline-block; vertical-align: middle; }
  svg { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; }
  .legend span { margin-right: 1em; }
  .legend i { display: inline-block; width: .8em; height: .8em; margin-right: .3em; vertical-align: middle; }
  .error { color: #b3261e; }
</style>
</head>
<body>
<h1>doorman-server</h1>
<div class="meta">version <span id="version">?</span>, <span id="type">?</span> mode &middot;
  up <span id="uptime">?</span> &middot; updated <span id="last-update">never</span>
  <span id="problem" class="error"></span></div>

<h2>Connections</h2>
<div class="tiles">
  <div class="tile"><div class="label">active</div><div class="value" id="active">0</div></div>
  <div class="tile"><div class="label">per second</div><div class="value" id="rate">0</div></div>
  <div class="tile"><div class="label">accepted</div><div class="value" id="count-accepted">0</div></div>
  <div class="tile"><div class="label">welcomed</div><div class="value" id="count-welcomed">0</div></div>
  <div class="tile"><div class="label">rejected</div><div class="value" id="count-rejected">0</div></div>
  <div class="tile"><div class="label">empty</div><div class="value" id="count-empty">0</div></div>
  <div class="tile"><div class="label">timed out</div><div class="value" id="count-timed_out">0</div></div>
  <div class="tile"><div class="label">refused</div><div class="value" id="count-refused">0</div></div>
  <div class="tile"><div class="label">errors</div><div class="value" id="count-errors">0</div></div>
</div>

<h2>Per second, last two minutes</h2>
<svg id="chart" width="720" height="220" viewBox="0 0 720 220" role="img" aria-label="connections per second"></svg>
<div class="legend" id="legend"></div>

<h2>Workers</h2>
<table id="workers"><thead><tr><th>worker</th><th>accepted</th><th>share</th><th></th></tr></thead><tbody></tbody></table>

<script>
"use strict";
const SERIES = [
  ["accepted", "#3b7dd8"], ["welcomed", "#2e9d5b"], ["rejected", "#d98f1f"],
  ["empty", "#8a8f99"], ["timed_out", "#b3261e"], ["refused", "#7b3fb8"], ["errors", "#000000"]];
const KEEP = 120;
const history = [];
let previous = null;

function text(id, value) { const element = document.getElementById(id); if (element) element.textContent = value; }

function duration(seconds) {
  seconds = Math.floor(seconds);
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
  const m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + s + "s";
}

function legend() {
  document.getElementById("legend").innerHTML = SERIES.map(([name, colour]) =>
    '<span><i style="background:' + colour + '"></i>' + name.replace("_", " ") + "</span>").join("");
}

function chart() {
  const svg = document.getElementById("chart");
  const width = 720, height = 220, left = 50, bottom = 20, top = 10;
  let peak = 1;
  for (const point of history) for (const [name] of SERIES) peak = Math.max(peak, point[name]);
  // Spread over the points there are, so that a page just opened shows its first seconds across
  // the whole width; the left end says how long ago it was.
  const x = i => left + (width - left - 10) * i / Math.max(history.length - 1, 1);
  const y = v => height - bottom - (height - bottom - top) * v / peak;
  let out = '<line x1="' + left + '" y1="' + y(0) + '" x2="' + (width - 10) + '" y2="' + y(0) + '" stroke="#d8dce3"/>';
  out += '<text x="' + (left - 6) + '" y="' + (top + 10) + '" text-anchor="end" font-size="11">' + Math.round(peak) + "</text>";
  out += '<text x="' + (left - 6) + '" y="' + y(0) + '" text-anchor="end" font-size="11">0</text>';
  for (const [name, colour] of SERIES) {
    const points = history.map((point, i) => x(i).toFixed(1) + "," + y(point[name]).toFixed(1)).join(" ");
    if (history.length > 1)
      out += '<polyline id="line-' + name + '" fill="none" stroke-width="1.5" stroke="' + colour + '" points="' + points + '"/>';
  }
  if (history.length > 1) {
    const ago = Math.round(history[history.length - 1].time - history[0].time);
    out += '<text x="' + left + '" y="' + (height - 4) + '" font-size="11">' + duration(ago) + " ago</text>";
    out += '<text x="' + (width - 10) + '" y="' + (height - 4) + '" text-anchor="end" font-size="11">now</text>';
  }
  svg.innerHTML = out;
}

function show(status) {
  const counters = status.counters;
  text("version", status.version);
  text("type", status.type);
  text("uptime", duration(status.uptime_seconds));
  text("last-update", new Date(status.timestamp * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC");
  text("active", status.active);
  for (const [name] of SERIES) text("count-" + name, counters[name]);
  // Rates over at least half a second of the server's own clock: a poll that came quickly
  // (a throttled or fast-forwarded tab) would divide a few events by almost nothing.
  if (!previous) previous = status;
  else if (status.timestamp - previous.timestamp >= 0.5) {
    const seconds = status.timestamp - previous.timestamp, point = {time: status.timestamp};
    for (const [name] of SERIES) point[name] = Math.max(0, counters[name] - previous.counters[name]) / seconds;
    history.push(point);
    if (history.length > KEEP) history.shift();
    text("rate", Math.round(point.accepted));
    previous = status;
  }
  const total = status.workers.reduce((sum, worker) => sum + worker.accepted, 0);
  document.querySelector("#workers tbody").innerHTML = status.workers.map((worker, index) => {
    const share = total ? 100 * worker.accepted / total : 0;
    return "<tr><td>" + index + '</td><td id="worker-' + index + '-accepted">' + worker.accepted +
      '</td><td id="worker-' + index + '-share">' + share.toFixed(1) + '%</td><td style="text-align:left"><span class="bar" style="width:' +
      (2 * share).toFixed(0) + 'px"></span></td></tr>';
  }).join("");
  chart();
}

async function poll() {
  try {
    const response = await fetch("status.json", {cache: "no-store"});
    if (!response.ok) throw new Error("status.json: HTTP " + response.status);
    show(await response.json());
    text("problem", "");
  } catch (error) {
    text("problem", String(error.message || error));
  }
}

legend();
chart();
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
)html";

}  // namespace doorman::server
