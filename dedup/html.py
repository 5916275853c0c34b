"""The HTML report: one self-contained file an analyst opens in a browser.

The page holds no data in its markup. The report (the `dedup.report/1` shape, plus the texts of
the member articles and a parsed time for each member) is embedded once as JSON in a
`<script type="application/json" id="dedup-data">` block, escaped so that nothing in an article
can end that block; the inline script builds the story list and, on demand, one story's details
with DOM APIs (`textContent`, `createElement`), so article text is never parsed as HTML. No
network request is made: no external fonts, scripts, styles or images.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from .models import Article, Report
from .render import report_to_dict

# Characters that could end the JSON block or change how an HTML parser reads it; JSON allows
# `\uXXXX` for each, so the escaped text parses to the same value.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def script_json(data: Any) -> str:
    """`data` as JSON that is safe inside an HTML `<script>` element (no `</script>`, no `<!--`)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_SCRIPT_ESCAPES)


def parse_time(published: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 date or date-time (UTC when no offset is given),
    or None when missing or not ISO 8601."""
    if not published:
        return None
    text = published.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    return seconds if math.isfinite(seconds) else None


def _article_dict(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "outlet": article.outlet,
        "published": article.published,
        "url": article.url,
        "author": article.author,
        "text": article.text,
    }


def page_data(report: Report) -> dict[str, Any]:
    """What the page embeds: `report_to_dict(report)` with the stories in display order (most
    members first, then the most recently published, then report order), a time `t` (epoch
    seconds or None) on each member, and `articles`: the member articles' texts by id."""
    data = report_to_dict(report)
    member_ids: list[str] = []
    for story in data["stories"]:
        for member in story["members"]:
            member["t"] = parse_time(member["published"])
            member_ids.append(member["id"])

    def order(item: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
        index, story = item
        times = [m["t"] for m in story["members"] if m["t"] is not None]
        latest = max(times) if times else -math.inf
        return (-len(story["members"]), -latest, index)

    data["stories"] = [story for _, story in sorted(enumerate(data["stories"]), key=order)]
    data["articles"] = {
        article_id: _article_dict(report.articles[article_id])
        for article_id in sorted(set(member_ids))
        if article_id in report.articles
    }
    return data


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (inline CSS and JS, no network requests)."""
    return "".join(
        (
            _HEAD,
            "<style>\n",
            _CSS,
            "</style>\n</head>\n",
            _BODY,
            '<script type="application/json" id="dedup-data">',
            script_json(page_data(report)),
            "</script>\n<script>\n",
            _JS,
            "</script>\n</body>\n</html>\n",
        )
    )


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dedup">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'none'; connect-src 'none'; \
form-action 'none'; base-uri 'none'">
<title>dedup report</title>
"""

_BODY = """<body>
<header class="top">
  <div class="brand">dedup <span>report</span></div>
  <dl class="stats" id="stats"></dl>
</header>
<div class="layout">
  <nav class="sidebar" aria-label="Stories">
    <div class="controls" id="controls">
      <input type="search" id="filter" placeholder="Filter by title or outlet"
        aria-label="Filter stories by title or outlet" autocomplete="off" spellcheck="false">
      <fieldset class="kinds" id="kinds"><legend>Kinds of match</legend></fieldset>
      <p class="shown" id="shown" aria-live="polite"></p>
    </div>
    <ol class="story-list" id="story-list"></ol>
  </nav>
  <main id="detail" tabindex="-1">
    <noscript><p class="empty">This report needs JavaScript to show its stories.</p></noscript>
  </main>
</div>
"""

_CSS = """
:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #5e6878; --line: #e2e6ec;
  --accent: #2155c4; --accent-soft: #e7eefc;
  --exact: #b3261e; --near_duplicate: #d0461c; --contained: #c2670b; --partial: #9a7b00;
  --same_story: #2f6dbf;
  --original: #1e7d4f; --copy: #c2670b; --related: #2f6dbf;
  --mark: #fff0a8; --mark-alt: #ffe07a; --mark-ink: #3b3000; --mark-active: #ffb938;
  --radius: 8px;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans",
    "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono",
    "DejaVu Sans Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171c; --panel: #1c2027; --ink: #e6e9ef; --muted: #9aa3b2; --line: #2d333d;
    --accent: #7fa6ff; --accent-soft: #243352;
    --mark: #4f4210; --mark-alt: #66541a; --mark-ink: #fff6d5; --mark-active: #8a6a00;
    --exact: #ff8a80; --near_duplicate: #ff9e6e; --contained: #ffb257; --partial: #e6c65a;
    --same_story: #86b3ff; --original: #5fd39a; --copy: #ffb257; --related: #86b3ff;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 var(--sans);
  font-feature-settings: "tnum" 1;
}
button, input { font: inherit; color: inherit; }
a { color: var(--accent); }

.top {
  display: flex; align-items: center; gap: 24px; flex-wrap: wrap;
  padding: 12px 24px; background: var(--panel); border-bottom: 1px solid var(--line);
}
.brand { font-weight: 700; font-size: 18px; letter-spacing: -0.01em; }
.brand span { font-weight: 400; color: var(--muted); }
.stats { display: flex; gap: 22px; margin: 0; flex-wrap: wrap; }
.stats div { display: flex; flex-direction: column-reverse; }
.stats dt { font-size: 11px; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--muted); }
.stats dd { margin: 0; font-size: 20px; font-weight: 650; line-height: 1.2; }

.layout { display: grid; grid-template-columns: minmax(260px, 340px) minmax(0, 1fr); }
.sidebar {
  position: sticky; top: 0; height: 100vh; overflow: auto;
  border-right: 1px solid var(--line); background: var(--panel);
}
.controls {
  position: sticky; top: 0; z-index: 2; background: var(--panel);
  padding: 14px 14px 8px; border-bottom: 1px solid var(--line);
}
#filter {
  width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: var(--radius);
  background: var(--bg); outline: none;
}
#filter:focus { border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
.kinds { border: 0; padding: 0; margin: 10px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }
.kinds legend { font-size: 11px; color: var(--muted); text-transform: uppercase;
  letter-spacing: 0.06em; padding: 0; margin-bottom: 6px; }
.chip {
  display: inline-flex; align-items: center; gap: 5px; font-size: 12px; cursor: pointer;
  padding: 2px 9px 2px 6px; border: 1px solid var(--line); border-radius: 999px; user-select: none;
}
.chip input { margin: 0; accent-color: var(--accent); }
.chip .n { color: var(--muted); }
.chip.none { opacity: 0.55; }
.shown { margin: 8px 0 0; font-size: 12px; color: var(--muted); }

.story-list { list-style: none; margin: 0; padding: 6px; }
.story-list a {
  display: block; padding: 8px 10px; border-radius: var(--radius); color: inherit;
  text-decoration: none; border-left: 3px solid transparent;
}
.story-list a:hover { background: var(--bg); }
.story-list li[aria-current="true"] a { background: var(--accent-soft);
  border-left-color: var(--accent); }
.si-title { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
  overflow: hidden; font-weight: 600; font-size: 14px; line-height: 1.35; }
.si-meta { display: flex; align-items: center; gap: 6px; flex-wrap: wrap;
  font-size: 12px; color: var(--muted); margin-top: 3px; }

.badge {
  display: inline-block; font-size: 11px; font-weight: 600; line-height: 1.6;
  padding: 0 7px; border-radius: 999px; white-space: nowrap;
  color: var(--c, var(--muted));
  background: color-mix(in srgb, var(--c, var(--muted)) 13%, transparent);
}
.k-exact { --c: var(--exact); } .k-near_duplicate { --c: var(--near_duplicate); }
.k-contained { --c: var(--contained); } .k-partial { --c: var(--partial); }
.k-same_story { --c: var(--same_story); }
.r-original { --c: var(--original); } .r-copy { --c: var(--copy); }
.r-related { --c: var(--related); }

main { padding: 24px 32px 64px; min-width: 0; outline: none; }
.story { max-width: 1280px; }
.eyebrow { font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: 0.06em; }
h1, h2, h3 { letter-spacing: -0.01em; }
.story h1 { font-size: 26px; line-height: 1.25; margin: 4px 0 14px; }
.story h2 { font-size: 13px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted);
  margin: 0 0 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius);
  padding: 16px 18px; margin: 0 0 16px; }
.original { border-left: 4px solid var(--original); }
.original .title { font-size: 17px; font-weight: 600; margin: 0 0 4px; }
.meta { color: var(--muted); font-size: 13px; display: flex; gap: 4px 14px; flex-wrap: wrap; }
.meta .id { font-family: var(--mono); font-size: 12px; }
.reason { margin: 10px 0 0; font-size: 14px; }
.reason strong { color: var(--original); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
.grid2 > .card { margin: 0; }
.grid2 { margin-bottom: 16px; }
.muted { color: var(--muted); }
.small { font-size: 12px; }

.tl-row, .sp-row, .tl-axis { display: grid; grid-template-columns: 110px minmax(60px, 1fr) 172px;
  gap: 10px; align-items: center; font-size: 13px; min-height: 26px; }
.sp-row { grid-template-columns: 110px minmax(60px, 1fr) 80px; }
.tl-outlet, .sp-outlet { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tl-track { position: relative; height: 2px; background: var(--line); margin: 0 6px; }
.tl-dot { position: absolute; top: -5px; width: 12px; height: 12px; margin-left: -6px;
  border-radius: 50%; background: var(--c); border: 2px solid var(--panel); }
.tl-when { color: var(--muted); font-size: 12px; white-space: nowrap; text-align: right; }
.tl-when small { font-size: 11px; }
.tl-axis { font-size: 11px; color: var(--muted); min-height: 0; margin-top: 2px; }
.tl-scale { display: flex; justify-content: space-between; }
.sp-bar { display: flex; height: 10px; border-radius: 5px; overflow: hidden;
  background: var(--line); }
.sp-bar span { display: block; height: 100%; background: var(--c); }
.sp-n { font-size: 12px; color: var(--muted); text-align: right; white-space: nowrap; }
.legend { display: flex; gap: 12px; font-size: 12px; color: var(--muted); margin-top: 8px; }
.legend i { display: inline-block; width: 9px; height: 9px; border-radius: 2px;
  background: var(--c); margin-right: 4px; }

.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 11px;
  text-transform: uppercase; letter-spacing: 0.05em; padding: 6px 8px;
  border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 7px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.when, td.outlet { white-space: nowrap; }
td.when { color: var(--muted); }
td .id { display: block; font-family: var(--mono); font-size: 11px; color: var(--muted);
  word-break: break-all; }
tr[aria-selected="true"] td { background: var(--accent-soft); }
.btn { border: 1px solid var(--line); background: var(--panel); border-radius: 6px;
  padding: 2px 10px; font-size: 12px; cursor: pointer; white-space: nowrap; }
.btn:hover { border-color: var(--accent); color: var(--accent); }
.btn[aria-pressed="true"] { background: var(--accent); border-color: var(--accent); color: #fff; }

.compare { scroll-margin-top: 12px; }
.compare-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap;
  margin-bottom: 12px; }
.compare-head .facts { font-size: 13px; color: var(--muted); }
.panes { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.pane { border: 1px solid var(--line); border-radius: var(--radius); background: var(--panel);
  min-width: 0; display: flex; flex-direction: column; }
.pane-head { padding: 12px 14px; border-bottom: 1px solid var(--line); }
.pane-head .title { font-weight: 600; margin: 0 0 2px; line-height: 1.35; }
.side { display: inline-block; font-size: 11px; font-weight: 700; color: var(--muted);
  margin-right: 6px; }
.reuse { display: flex; align-items: center; gap: 8px; margin-top: 8px; font-size: 12px; }
.reuse-bar { flex: 0 0 90px; height: 6px; border-radius: 3px; background: var(--line);
  overflow: hidden; }
.reuse-bar span { display: block; height: 100%; background: var(--mark-active); }
.pane-text { position: relative; padding: 14px 16px; max-height: 68vh; overflow: auto;
  white-space: pre-wrap; overflow-wrap: anywhere; font-size: 15px; line-height: 1.65; }
.pane-text.missing { color: var(--muted); font-style: italic; }
mark[data-passage] { background: var(--mark); color: var(--mark-ink); border-radius: 2px;
  cursor: pointer; box-shadow: 0 0 0 1px color-mix(in srgb, var(--mark-active) 50%, transparent);
  transition: background 0.12s; }
mark[data-passage].alt { background: var(--mark-alt); }
mark[data-passage].active { background: var(--mark-active); }
mark[data-passage]:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.passages { margin: 14px 0 0; padding: 0; list-style: none; display: grid; gap: 6px; }
.passages li { display: grid; grid-template-columns: 34px 84px 1fr; gap: 8px; font-size: 13px;
  padding: 6px 8px; border-radius: 6px; cursor: pointer; align-items: baseline; }
.passages li:hover, .passages li.active { background: var(--accent-soft); }
.passages .k { font-weight: 700; color: var(--muted); }
.passages .w { color: var(--muted); white-space: nowrap; }
.passages .t { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.empty { color: var(--muted); padding: 40px 0; text-align: center; }
.extra { border-top: 1px solid var(--line); padding: 10px 16px; font-size: 13px; }
.extra summary { cursor: pointer; color: var(--muted); }
.extra ul { margin: 6px 0 0; padding-left: 18px; }
.extra code { font-family: var(--mono); font-size: 12px; overflow-wrap: anywhere; }
.extra table { margin-top: 6px; font-size: 12px; }
.extra td { padding: 2px 6px; border: 0; }

@media (max-width: 900px) {
  .layout { grid-template-columns: 1fr; }
  .sidebar { position: static; height: auto; max-height: 45vh; border-right: 0;
    border-bottom: 1px solid var(--line); }
  main { padding: 18px 16px 48px; }
  .panes { grid-template-columns: 1fr; }
}
@media print {
  :root { color-scheme: light; --bg: #fff; --panel: #fff; --ink: #000; --muted: #444;
    --line: #bbb; --mark: #ffeb99; --mark-alt: #ffd966; --mark-ink: #000; --mark-active: #ffd24d; }
  body { font-size: 10.5pt; background: #fff; }
  .sidebar, .controls, .btn, .noprint { display: none !important; }
  .layout { display: block; }
  main { padding: 0; }
  .story { max-width: none; }
  .card, .pane { break-inside: auto; box-shadow: none; }
  .pane-text { max-height: none; overflow: visible; font-size: 10pt; }
  .panes { grid-template-columns: 1fr 1fr; }
  .table-wrap { overflow: visible; }
  mark[data-passage], .sp-bar span, .tl-dot, .badge, .reuse-bar span {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  .passages .t { white-space: normal; }
}
"""

_JS = r"""
"use strict";
(() => {
  const DATA = JSON.parse(document.getElementById("dedup-data").textContent);
  const KINDS = ["exact", "near_duplicate", "contained", "partial", "same_story"];
  const KIND_LABEL = {
    exact: "exact", near_duplicate: "near duplicate", contained: "contained",
    partial: "partial", same_story: "same story",
  };
  const STORIES = DATA.stories;
  const BY_ID = new Map(STORIES.map((s) => [s.id, s]));
  const ARTICLES = DATA.articles || {};
  const $ = (sel, root) => (root || document).querySelector(sel);

  // -- small DOM helpers: data only ever reaches the page as text nodes or attribute values --
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child);
    }
    return node;
  }
  const kindBadge = (kind) => el("span", { class: "badge k-" + kind }, KIND_LABEL[kind] || kind);
  const roleBadge = (role) => el("span", { class: "badge r-" + role }, role);
  const num = (x) => (x === null || x === undefined ? "\u2013" : x.toFixed(2));
  const pct = (x) => (x === null || x === undefined ? "\u2013" : Math.round(x * 100) + "%");
  const plural = (n, one, many) => n + " " + (n === 1 ? one : many || one + "s");
  const shortDate = (s) => (s ? String(s).replace("T", " ").slice(0, 16) : "");
  const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);
  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  const kindRank = (k) => { const i = KINDS.indexOf(k); return i < 0 ? KINDS.length : i; };

  function duration(seconds) {
    const s = Math.abs(seconds);
    if (s < 60) return "same minute";
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d) return "+" + d + " d" + (h ? " " + h + " h" : "");
    if (h) return "+" + h + " h" + (m ? " " + m + " min" : "");
    return "+" + m + " min";
  }

  // -- per-story derived facts (computed once, on first use) --
  const facts = new Map();
  function storyFacts(story) {
    let f = facts.get(story.id);
    if (f) return f;
    const members = new Map(story.members.map((m) => [m.id, m]));
    const kinds = [...new Set(story.matches.map((m) => m.kind))]
      .sort((x, y) => kindRank(x) - kindRank(y));
    const withOriginal = new Map();
    story.matches.forEach((match, index) => {
      if (match.a === story.original) withOriginal.set(match.b, index);
      else if (match.b === story.original) withOriginal.set(match.a, index);
    });
    const original = members.get(story.original) || { id: story.original, title: "", outlet: "" };
    const times = story.members.map((m) => m.t).filter((t) => t !== null && t !== undefined);
    const latest = times.length ? times.reduce((x, y) => Math.max(x, y)) : null;
    const latestMember = latest === null ? null : story.members.find((m) => m.t === latest);
    const haystack = story.members
      .map((m) => [m.title, m.outlet, m.id].join("\n"))
      .join("\n")
      .toLowerCase();
    const count = (role) => story.members.filter((m) => m.role === role).length;
    f = {
      members, kinds, withOriginal, original, haystack, latestMember,
      copies: count("copy"), related: count("related"),
    };
    facts.set(story.id, f);
    return f;
  }

  // -- header --
  function renderStats() {
    let copies = 0, related = 0;
    for (const s of STORIES) for (const m of s.members) {
      if (m.role === "copy") copies++;
      else if (m.role === "related") related++;
    }
    const items = [
      ["articles", DATA.stats.articles], ["stories", STORIES.length],
      ["copies", copies], ["related", related], ["skipped", DATA.stats.skipped],
    ];
    const dl = $("#stats");
    for (const [label, value] of items) {
      dl.append(el("div", { "data-stat": label },
        el("dt", null, label), el("dd", null, String(value))));
    }
  }

  // -- story list and filters --
  const items = new Map();
  function renderList() {
    const list = $("#story-list");
    const frag = document.createDocumentFragment();
    for (const story of STORIES) {
      const f = storyFacts(story);
      const meta = el("span", { class: "si-meta" }, plural(story.members.length, "article"),
        " \u00b7 ", plural(story.outlets.length, "outlet"));
      if (f.latestMember) meta.append(" \u00b7 ", shortDate(f.latestMember.published).slice(0, 10));
      const badges = el("span", { class: "si-meta" }, ...f.kinds.map(kindBadge));
      const li = el("li", { "data-story": story.id },
        el("a", { href: "#" + encodeURIComponent(story.id) },
          el("span", { class: "si-title" }, f.original.title || story.original), meta, badges));
      items.set(story.id, li);
      frag.append(li);
    }
    list.append(frag);
  }

  function renderKindFilters() {
    const box = $("#kinds");
    const counts = Object.fromEntries(KINDS.map((k) => [k, 0]));
    for (const s of STORIES) for (const k of storyFacts(s).kinds) counts[k] = (counts[k] || 0) + 1;
    for (const kind of KINDS) {
      const input = el("input", { type: "checkbox", class: "kind-filter", value: kind,
        checked: true });
      const cls = "chip k-" + kind + (counts[kind] ? "" : " none");
      box.append(el("label", { class: cls, "data-kind": kind }, input,
        KIND_LABEL[kind], el("span", { class: "n" }, String(counts[kind]))));
    }
    box.addEventListener("change", applyFilter);
    // Typing refilters after a short pause, so thousands of stories do not slow each keystroke.
    let timer = 0;
    $("#filter").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(applyFilter, STORIES.length > 500 ? 150 : 0);
    });
  }

  function applyFilter() {
    const terms = $("#filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    const checked = document.querySelectorAll(".kind-filter:checked");
    const kinds = new Set([...checked].map((input) => input.value));
    let shown = 0;
    for (const story of STORIES) {
      const f = storyFacts(story);
      const ok = terms.every((t) => f.haystack.includes(t))
        && (!f.kinds.length || f.kinds.some((k) => kinds.has(k)));
      items.get(story.id).hidden = !ok;
      if (ok) shown++;
    }
    $("#shown").textContent = shown === STORIES.length
      ? plural(STORIES.length, "story", "stories")
      : shown + " of " + plural(STORIES.length, "story", "stories");
  }

  // -- story details --
  let current = null;

  function memberLine(member) {
    const meta = el("div", { class: "meta" });
    if (member.outlet) meta.append(el("span", { class: "outlet" }, member.outlet));
    meta.append(el("span", { class: "when" },
      member.published ? shortDate(member.published) : "no date"));
    meta.append(el("span", { class: "id" }, member.id));
    const article = ARTICLES[member.id];
    if (article && article.author) meta.append(el("span", null, "by " + article.author));
    const url = safeUrl(article && article.url);
    if (url) {
      meta.append(el("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" },
        "source"));
    }
    return meta;
  }

  function renderStory(story) {
    const f = storyFacts(story);
    const detail = $("#detail");
    const root = el("article", { class: "story", "data-story-detail": story.id });
    root.append(
      el("div", { class: "eyebrow" },
        "Story " + story.id + " \u00b7 " + plural(story.members.length, "article") + " \u00b7 "
        + plural(story.outlets.length, "outlet") + " \u00b7 " + plural(f.copies, "copy", "copies")
        + " \u00b7 " + f.related + " related"),
      el("h1", null, f.original.title || story.original),
      el("section", { class: "card original" },
        el("h2", null, "Original"),
        el("p", { class: "title" }, f.original.title || "(untitled)"),
        memberLine(f.original),
        el("p", { class: "reason" }, "Chosen as the original: ",
          el("strong", null, story.original_reason))),
      el("div", { class: "grid2" },
        el("section", { class: "card timeline" },
          el("h2", null, "When each outlet published"), timeline(story)),
        el("section", { class: "card spread" },
          el("h2", null, "Spread across outlets"), spread(story))),
      el("section", { class: "card members" }, el("h2", null, "Members"), membersTable(story)),
      el("section", { class: "card matches" }, el("h2", null, "Matches"), matchesTable(story)),
      el("section", { class: "card compare", id: "compare" }),
    );
    detail.replaceChildren(root);
  }

  function timeline(story) {
    const dated = story.members.filter((m) => m.t !== null && m.t !== undefined)
      .sort((x, y) => x.t - y.t || cmp(x.id, y.id));
    const undated = story.members.filter((m) => m.t === null || m.t === undefined);
    if (!dated.length) return el("p", { class: "muted tl-none" }, "no dates");
    const t0 = dated[0].t, span = dated[dated.length - 1].t - t0;
    const box = el("div", { class: "tl" });
    for (const m of dated) {
      const dot = el("span", { class: "tl-dot r-" + m.role, title: m.role + ": " + m.id });
      dot.style.left = (span ? ((m.t - t0) / span) * 100 : 0) + "%";
      box.append(el("div", { class: "tl-row", "data-member": m.id },
        el("span", { class: "tl-outlet", title: m.outlet || m.id }, m.outlet || m.id),
        el("span", { class: "tl-track" }, dot),
        el("span", { class: "tl-when" }, shortDate(m.published),
          m === dated[0] ? "" : el("small", null, " " + duration(m.t - t0)))));
    }
    if (span) {
      box.append(el("div", { class: "tl-axis" }, el("span"),
        el("span", { class: "tl-scale" },
          el("span", null, "first"), el("span", null, duration(span) + " later")),
        el("span")));
    }
    if (undated.length) {
      box.append(el("p", { class: "muted small" },
        "no date: " + undated.map((m) => m.outlet || m.id).join(", ")));
    }
    return box;
  }

  function spread(story) {
    const byOutlet = new Map();
    for (const m of story.members) {
      const key = m.outlet || "(no outlet)";
      const row = byOutlet.get(key) || { original: 0, copy: 0, related: 0, total: 0 };
      row[m.role] = (row[m.role] || 0) + 1;
      row.total++;
      byOutlet.set(key, row);
    }
    const rows = [...byOutlet.entries()].sort((x, y) => y[1].total - x[1].total || cmp(x[0], y[0]));
    const total = story.members.length;
    const box = el("div", { class: "sp" });
    for (const [outlet, row] of rows) {
      const bar = el("span", { class: "sp-bar" });
      for (const role of ["original", "copy", "related"]) {
        if (!row[role]) continue;
        const seg = el("span", { class: "r-" + role, title: plural(row[role], role) });
        seg.style.width = (row[role] / total) * 100 + "%";
        bar.append(seg);
      }
      box.append(el("div", { class: "sp-row", "data-outlet": outlet },
        el("span", { class: "sp-outlet", title: outlet }, outlet), bar,
        el("span", { class: "sp-n" }, plural(row.total, "article"))));
    }
    box.append(el("div", { class: "legend" },
      ...["original", "copy", "related"].map((role) =>
        el("span", null, el("i", { class: "r-" + role }), role))));
    return box;
  }

  function compareButton(story, index) {
    return el("button", { type: "button", class: "btn", "data-match": index,
      "aria-pressed": "false" }, "Compare");
  }

  function membersTable(story) {
    const f = storyFacts(story);
    const body = el("tbody");
    for (const m of story.members) {
      const index = f.withOriginal.get(m.id);
      const match = index === undefined ? null : story.matches[index];
      const mine = match ? (match.a === m.id ? match.containment_ab : match.containment_ba) : null;
      body.append(el("tr", { "data-member": m.id },
        el("td", null, roleBadge(m.role)),
        el("td", { class: "outlet" }, m.outlet || "\u2013"),
        el("td", { class: "when" }, m.published ? shortDate(m.published) : "no date"),
        el("td", null, m.title || "(untitled)", el("span", { class: "id" }, m.id)),
        el("td", null, match ? kindBadge(match.kind) : ""),
        el("td", { class: "num" }, match ? num(match.cosine) : ""),
        el("td", { class: "num" }, match ? pct(mine) : ""),
        el("td", null, match ? compareButton(story, index) : "")));
    }
    return el("div", { class: "table-wrap" }, el("table", null,
      el("thead", null, el("tr", null, ...["role", "outlet", "published", "title",
        "vs original", "cosine", "in original", ""].map((h) => el("th", null, h)))),
      body));
  }

  function matchesTable(story) {
    const f = storyFacts(story);
    const body = el("tbody");
    const label = (id) => {
      const m = f.members.get(id);
      return el("td", null, m ? m.title || "(untitled)" : id,
        el("span", { class: "id" }, (m && m.outlet ? m.outlet + " \u00b7 " : "") + id));
    };
    story.matches.forEach((match, index) => {
      const shared = match.passages.reduce((n, p) => n + p.words, 0);
      body.append(el("tr", { "data-match-row": index, "data-a": match.a, "data-b": match.b },
        label(match.a), label(match.b),
        el("td", null, kindBadge(match.kind)),
        el("td", { class: "num" }, num(match.jaccard)),
        el("td", { class: "num" }, pct(match.containment_ab) + " / " + pct(match.containment_ba)),
        el("td", { class: "num" }, num(match.cosine)),
        el("td", { class: "num" }, String(shared)),
        el("td", null, compareButton(story, index))));
    });
    return el("div", { class: "table-wrap" }, el("table", null,
      el("thead", null, el("tr", null, ...["a", "b", "kind", "jaccard", "a in b / b in a",
        "cosine", "words", ""].map((h) => el("th", null, h)))),
      body));
  }

  // -- side by side --
  // Offsets in the report count code points; JS strings index UTF-16 code units.
  function unitOffsets(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return null;
    const map = [];
    let unit = 0;
    for (const ch of text) { map.push(unit); unit += ch.length; }
    map.push(unit);
    return map;
  }
  function codePoints(text) {
    let n = 0;
    for (const _ of text) n++;
    return n;
  }

  function highlighted(text, ranges) {
    // ranges: [{start, end, k}] in code points; returns a fragment of text nodes and marks.
    const map = unitOffsets(text);
    const last = map ? map.length - 1 : text.length;
    const unit = (cp) => {
      const at = Math.max(0, Math.min(cp, last));
      return map ? map[at] : at;
    };
    const sorted = ranges.slice().sort((x, y) => x.start - y.start || x.k - y.k);
    const frag = document.createDocumentFragment();
    let pos = 0;
    for (const r of sorted) {
      const start = Math.max(unit(r.start), pos), end = unit(r.end);
      if (end <= start) continue;
      if (start > pos) frag.append(text.slice(pos, start));
      frag.append(el("mark", { "data-passage": r.k, class: r.k % 2 ? "alt" : null, tabindex: 0,
        title: "shared passage " + (r.k + 1) },
        text.slice(start, end)));
      pos = end;
    }
    if (pos < text.length) frag.append(text.slice(pos));
    return frag;
  }

  function coverage(ranges, length) {
    const sorted = ranges.map((r) => [r.start, r.end]).sort((x, y) => x[0] - y[0]);
    let covered = 0, reach = 0;
    for (const [s, e] of sorted) {
      const from = Math.max(s, reach);
      if (e > from) { covered += e - from; reach = e; }
    }
    return length ? Math.min(1, covered / length) : 0;
  }

  function pane(side, story, id, ranges) {
    const f = storyFacts(story);
    const member = f.members.get(id) || { id, title: "", outlet: "", published: null, role: "" };
    const article = ARTICLES[id];
    const head = el("header", { class: "pane-head" },
      el("p", { class: "title" }, el("span", { class: "side" }, side.toUpperCase()),
        member.title || (article && article.title) || "(untitled)", " ",
        member.role ? roleBadge(member.role) : ""),
      memberLine(member));
    let text;
    if (article && typeof article.text === "string") {
      const share = coverage(ranges, codePoints(article.text));
      const bar = el("span", { class: "reuse-bar" }, el("span"));
      bar.firstChild.style.width = share * 100 + "%";
      head.append(el("div", { class: "reuse", "data-share": share.toFixed(4) }, bar,
        Math.round(share * 100) + "% of this text is in shared passages"));
      text = el("div", { class: "pane-text", "data-side": side },
        highlighted(article.text, ranges));
    } else {
      text = el("div", { class: "pane-text missing", "data-side": side },
        "The text of this article is not in the report.");
    }
    return el("section", { class: "pane pane-" + side, "data-article": id }, head, text);
  }

  function renderCompare(story, index) {
    const section = $("#compare");
    const match = story.matches[index];
    document.querySelectorAll("#detail [data-match]").forEach((b) =>
      b.setAttribute("aria-pressed", String(Number(b.dataset.match) === index)));
    document.querySelectorAll("#detail tr[data-match-row]").forEach((r) =>
      r.setAttribute("aria-selected", String(Number(r.dataset.matchRow) === index)));
    if (!match) {
      section.replaceChildren(el("h2", null, "Side by side"),
        el("p", { class: "muted" }, "This story has no verified pair to compare."));
      return;
    }
    const shared = match.passages.reduce((n, p) => n + p.words, 0);
    const rangesA = match.passages.map((p, k) => ({ start: p.a_start, end: p.a_end, k }));
    const rangesB = match.passages.map((p, k) => ({ start: p.b_start, end: p.b_end, k }));
    const nav = el("ol", { class: "passages" });
    match.passages.forEach((p, k) => {
      nav.append(el("li", { "data-passage-nav": k, tabindex: 0 },
        el("span", { class: "k" }, "#" + (k + 1)),
        el("span", { class: "w" }, plural(p.words, "word")),
        el("span", { class: "t", title: p.text }, p.text)));
    });
    section.replaceChildren(
      el("div", { class: "compare-head" },
        el("h2", null, "Side by side"), kindBadge(match.kind),
        el("span", { class: "facts" },
          plural(match.passages.length, "shared passage") + " \u00b7 "
          + plural(shared, "shared word") + " \u00b7 jaccard " + num(match.jaccard)
          + " \u00b7 cosine " + num(match.cosine))),
      el("div", { class: "panes", "data-match-index": index },
        pane("a", story, match.a, rangesA), pane("b", story, match.b, rangesB)),
      match.passages.length ? nav : el("p", { class: "muted small" },
        "No verbatim passages: the two articles report the same story in their own words."));
  }

  function setActive(k) {
    document.querySelectorAll("#compare .active").forEach((n) => n.classList.remove("active"));
    if (k === null) return;
    const sel = '#compare mark[data-passage="' + k + '"], #compare [data-passage-nav="' + k + '"]';
    document.querySelectorAll(sel).forEach((n) => n.classList.add("active"));
  }

  function scrollWithin(box, target) {
    const top = target.offsetTop - box.clientHeight / 3;
    box.scrollTo({ top: Math.max(0, top), behavior: "smooth" });
  }

  function jumpTo(k, fromSide) {
    setActive(k);
    for (const side of ["a", "b"]) {
      if (side === fromSide) continue;
      const box = $("#compare .pane-" + side + " .pane-text");
      const mark = box && box.querySelector('mark[data-passage="' + k + '"]');
      if (mark) scrollWithin(box, mark);
    }
  }

  function wireCompare() {
    const detail = $("#detail");
    detail.addEventListener("mouseover", (e) => {
      const hit = e.target.closest("#compare mark[data-passage], #compare [data-passage-nav]");
      if (hit) setActive(hit.dataset.passage ?? hit.dataset.passageNav);
    });
    detail.addEventListener("mouseout", (e) => {
      const hit = e.target.closest("#compare mark[data-passage], #compare [data-passage-nav]");
      if (hit && !hit.contains(e.relatedTarget)) setActive(null);
    });
    detail.addEventListener("focusin", (e) => {
      const hit = e.target.closest("#compare mark[data-passage], #compare [data-passage-nav]");
      if (hit) setActive(hit.dataset.passage ?? hit.dataset.passageNav);
    });
    const activate = (e) => {
      const mark = e.target.closest("#compare mark[data-passage]");
      if (mark) {
        const side = mark.closest(".pane-text").dataset.side;
        jumpTo(mark.dataset.passage, side);
        return true;
      }
      const nav = e.target.closest("#compare [data-passage-nav]");
      if (nav) { jumpTo(nav.dataset.passageNav, null); return true; }
      const button = e.target.closest("button[data-match]");
      if (button && current) {
        const hash = "#" + encodeURIComponent(current.id) + "/m" + button.dataset.match;
        if (location.hash === hash) route(true);
        else location.hash = hash;
        return true;
      }
      return false;
    };
    detail.addEventListener("click", activate);
    detail.addEventListener("keydown", (e) => {
      const key = e.key === "Enter" || e.key === " ";
      if (key && e.target.matches("mark, [data-passage-nav]") && activate(e)) e.preventDefault();
    });
  }

  function defaultMatch(story) {
    const f = storyFacts(story);
    let best = -1;
    for (const index of f.withOriginal.values()) {
      const m = story.matches[index];
      if (best < 0) { best = index; continue; }
      const b = story.matches[best];
      const stronger = kindRank(m.kind) - kindRank(b.kind) || b.passages.length - m.passages.length;
      if (stronger < 0) best = index;
    }
    return best >= 0 ? best : story.matches.length ? 0 : -1;
  }

  // -- routing: #s1 opens story s1, #s1/m2 also opens its third match side by side --
  function route(scroll) {
    let hash = "";
    try { hash = decodeURIComponent(location.hash.slice(1)); } catch (err) { hash = ""; }
    const parsed = /^(.*?)(?:\/m(\d+))?$/.exec(hash);
    let story = BY_ID.get(parsed[1]);
    let index = parsed[2] === undefined ? null : Number(parsed[2]);
    if (!story) {
      story = STORIES.find((s) => !items.get(s.id).hidden) || STORIES[0];
      index = null;
    }
    if (!story) {
      $("#detail").replaceChildren(
        el("p", { class: "empty" }, "No stories found: no two articles matched."));
      return;
    }
    if (current !== story) {
      if (current) items.get(current.id).removeAttribute("aria-current");
      current = story;
      const li = items.get(story.id);
      li.setAttribute("aria-current", "true");
      li.scrollIntoView({ block: "nearest" });
      renderStory(story);
      if (index === null) window.scrollTo(0, 0);
    }
    renderCompare(story, index === null || !story.matches[index] ? defaultMatch(story) : index);
    if (index !== null && scroll !== false) $("#compare").scrollIntoView({ block: "start" });
  }

  function renderFooter() {
    const parts = [];
    if (DATA.skipped.length) {
      const list = el("ul", { class: "skipped" });
      for (const s of DATA.skipped) {
        list.append(el("li", null, el("code", null, s.path), ": " + s.reason));
      }
      parts.push(el("details", { class: "extra" },
        el("summary", null, plural(DATA.skipped.length, "skipped input")), list));
    }
    const settings = el("tbody");
    for (const [name, value] of Object.entries(DATA.settings)) {
      settings.append(el("tr", null, el("td", null, el("code", null, name)),
        el("td", { class: "num" }, String(value))));
    }
    parts.push(el("details", { class: "extra" }, el("summary", null, "Settings in force"),
      el("table", null, settings)));
    return parts;
  }

  renderStats();
  renderList();
  renderKindFilters();
  applyFilter();
  wireCompare();
  const footer = renderFooter();
  window.addEventListener("hashchange", () => route(true));
  route(true);
  if (footer.length) document.querySelector(".sidebar").append(...footer);
})();
"""


__all__ = ["page_data", "parse_time", "render_html", "script_json"]
