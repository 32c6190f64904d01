/** The report page's stylesheet and script, inlined so that index.html is one offline file. */

export const CSS = `
:root { --ok: #2e7d32; --okbg: #e6f4ea; --bad: #c62828; --badbg: #fde4e4; --warn: #a15c00; --warnbg: #fff4e5; --muted: #5f6368; --line: #dadce0; --accent: #1a56db; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #202124; margin: 0; padding: 0 24px 48px; max-width: 1400px; }
header { border-bottom: 1px solid var(--line); padding: 16px 0 8px; margin-bottom: 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; } h4 { font-size: 14px; margin: 14px 0 6px; }
.meta { color: var(--muted); margin: 2px 0; }
.status { display: inline-block; font-weight: 600; padding: 3px 10px; border-radius: 12px; }
.status.ok { background: var(--okbg); color: var(--ok); } .status.bad { background: var(--badbg); color: var(--bad); }
nav ul { margin: 4px 0; padding-left: 18px; } nav li { margin: 1px 0; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f4; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.prop { text-align: center; white-space: nowrap; }
td.prop.holds { background: var(--okbg); color: var(--ok); }
td.prop.violated { background: var(--badbg); color: var(--bad); }
td.prop.incomplete { background: var(--warnbg); color: var(--warn); }
td.prop.not-checked { color: var(--muted); }
td.prop.mismatch { outline: 3px solid var(--bad); outline-offset: -3px; font-weight: 700; }
td.verdict.holds { color: var(--ok); font-weight: 600; } td.verdict.violated { color: var(--bad); font-weight: 600; } td.verdict.incomplete { color: var(--warn); font-weight: 600; }
tr.ok td.okcell { color: var(--ok); } tr.mismatch td.okcell { color: #fff; background: var(--bad); font-weight: 700; }
.mono, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
figure.graph { margin: 10px 0 18px; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; }
figure.graph .svgwrap { overflow: auto; max-height: 900px; }
figure.graph svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
details figure.graph.machine svg { max-width: none; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
.graph-error { color: var(--bad); font-weight: 600; }
.graphs-row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.graphs-row > figure { flex: 1 1 380px; min-width: 0; }
article.check { border-left: 4px solid var(--line); padding: 2px 0 2px 14px; margin: 18px 0; }
article.check.ok { border-left-color: var(--ok); } article.check.mismatch { border-left-color: var(--bad); }
.trace { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 10px 0; background: #fafbfc; }
.trace:focus { outline: 2px solid var(--accent); }
.controls button { font: inherit; padding: 3px 12px; border: 1px solid #bbb; border-radius: 4px; background: #fff; cursor: pointer; }
.controls button:disabled { opacity: .4; cursor: default; }
.controls .pos { display: inline-block; min-width: 7em; text-align: center; font-weight: 600; }
.step { margin: 8px 0; } .step-head { margin: 4px 0; }
.step .source { color: #5f6368; }
.step .actor { display: inline-block; background: #e8eaed; border-radius: 4px; padding: 0 6px; font-weight: 600; }
.step .stepno { color: var(--muted); font-variant-numeric: tabular-nums; }
.step .violation { color: #fff; background: var(--bad); border-radius: 4px; padding: 0 6px; font-weight: 700; }
.step table.sites { background: #fff; }
.step tr.changed td:first-child { border-left: 4px solid var(--bad); }
.chg { color: #fff; background: var(--bad); border-radius: 2px; padding: 0 1px; font-weight: 700; }
.rest { color: var(--muted); margin: 2px 0 6px; word-break: break-word; }
.steplist li { cursor: pointer; margin: 1px 0; } .steplist li.current { background: #e8f0fe; font-weight: 600; }
svg g.node.current path, svg g.node.current polygon { stroke: var(--accent) !important; stroke-width: 4px; }
details > summary { cursor: pointer; color: var(--accent); }
.legend { color: var(--muted); font-size: 12.5px; }
`;

/** Step-through: show one panel at a time, outline the step in the lanes graph. */
export const SCRIPT = `
(function () {
  document.querySelectorAll('.trace').forEach(function (t) {
    var n = Number(t.getAttribute('data-steps'));
    var prefix = t.getAttribute('data-svg');
    var panels = t.querySelectorAll('.step');
    var items = t.querySelectorAll('.steplist li');
    var pos = t.querySelector('.pos');
    var prev = t.querySelector('button.prev');
    var next = t.querySelector('button.next');
    var k = 0;
    function show(i) {
      k = Math.max(0, Math.min(n, i));
      panels.forEach(function (p) { p.hidden = Number(p.getAttribute('data-step')) !== k; });
      items.forEach(function (li) { li.classList.toggle('current', Number(li.getAttribute('data-step')) === k); });
      pos.textContent = 'step ' + k + ' / ' + n;
      prev.disabled = k === 0;
      next.disabled = k === n;
      t.querySelectorAll('svg g.node.current').forEach(function (g) { g.classList.remove('current'); });
      var g = document.getElementById(prefix + '-step' + k);
      if (g) {
        g.classList.add('current');
        var wrap = g.closest('.svgwrap');
        var r = g.getBoundingClientRect(), w = wrap.getBoundingClientRect();
        if (r.top < w.top || r.bottom > w.bottom) wrap.scrollTop += r.top - w.top - w.height / 3;
      }
      t.setAttribute('data-current', String(k));
    }
    prev.addEventListener('click', function () { show(k - 1); });
    next.addEventListener('click', function () { show(k + 1); });
    items.forEach(function (li) { li.addEventListener('click', function () { show(Number(li.getAttribute('data-step'))); }); });
    t.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowRight') { show(k + 1); e.preventDefault(); }
      if (e.key === 'ArrowLeft') { show(k - 1); e.preventDefault(); }
    });
    show(0);
  });
})();
`;
