// The status page's script (status_page.html): fetches /api/v1/status and
// draws it, again every refresh_seconds. Everything a client of the
// database chose (application, database, user and target names) reaches the
// page as text: elements are built with createElement, text is set as text
// nodes and attributes with setAttribute; nothing here parses data as
// markup, and no attribute named on* or style is set from here.
'use strict';

(function () {
  const kDefaultRefreshSeconds = 5;
  const kSvg = 'http://www.w3.org/2000/svg';
  // The chart's size in SVG user units.
  const kChartWidth = 600;
  const kChartHeight = 120;

  // --- Building elements: text stays text ----------------------------------

  function setAttributes(node, attributes) {
    for (const [name, value] of Object.entries(attributes || {})) {
      if (/^on/i.test(name) || name.toLowerCase() === 'style') {
        throw new Error('refusing to set attribute ' + name);
      }
      node.setAttribute(name, String(value));
    }
  }

  // children: nodes, or strings and numbers, which become text nodes.
  function appendChildren(node, children) {
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attributes);
    appendChildren(node, children);
    return node;
  }

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(kSvg, tag);
    setAttributes(node, attributes);
    appendChildren(node, children);
    return node;
  }

  // A bar segment or line: its geometry through the CSS object model, which
  // the page's Content-Security-Policy allows (an inline style attribute it
  // would refuse).
  function place(node, geometry) {
    for (const [property, value] of Object.entries(geometry)) {
      node.style.setProperty(property, value);
    }
    return node;
  }

  // --- Numbers as the page shows them ---------------------------------------

  function fixed(value, decimals) {
    return Number.isFinite(value) ? value.toFixed(decimals) : '-';
  }
  function percent(ratio) {
    return fixed(ratio * 100, 1) + ' %';
  }
  function seconds(value) {
    return fixed(value, 1) + ' s';
  }
  function share(part, whole) {
    return fixed((100 * part) / whole, 2) + '%';
  }
  function clockTime(unixMs) {
    return new Date(unixMs).toISOString().slice(11, 19) + ' UTC';
  }

  // A stable colour per application name (FNV-1a over its UTF-8 bytes), so
  // that a name keeps its colour from one refresh to the next.
  function colour(name) {
    let h = 2166136261;
    for (const byte of new TextEncoder().encode(name)) {
      h = Math.imul(h ^ byte, 16777619) >>> 0;
    }
    return 'hsl(' + (h % 360) + ',55%,45%)';
  }

  // A <dt>/<dd> pair; the <dd> carries data-field for scripts and tests.
  function field(term, name, value) {
    return [el('dt', {}, term), el('dd', {'data-field': name}, value)];
  }

  // --- The sections of one target -----------------------------------------

  function warnings(signs) {
    if (signs.length === 0) return [el('p', {class: 'ok'}, 'No warning sign.')];
    const list = el('ul', {class: 'warnings'});
    for (const w of signs) {
      const runbook = el('a', {}, 'Runbook ' + w.alert);
      if (/^https:\/\//.test(w.runbook_url)) runbook.href = w.runbook_url;
      list.append(el('li', {class: w.severity, 'data-alert': w.alert},
                     el('b', {}, w.summary), ' ' + w.advice + ' ', runbook));
    }
    return [list];
  }

  // The bar spans the usable slots (or what is used, if superusers went
  // beyond them); the dashed line is the headroom threshold.
  function connectionsBar(c) {
    const scale = Math.max(c.usable_connections, c.used_connections, 1);
    const bar = el('div', {class: 'bar', title: 'connections by application'});
    for (const a of c.applications) {
      bar.append(place(
          el('span', {class: 'seg', title: a.application + ': ' + a.connections},
             a.application),
          {width: share(a.connections, scale), background: colour(a.application)}));
    }
    bar.append(place(
        el('span', {class: 'line',
                    title: 'headroom: ' + percent(c.near_limit_threshold_ratio) +
                        ' of usable'}),
        {left: share(c.headroom_connections, scale)}));
    return bar;
  }

  // "12 used (70.6 %) in the last 60 s", or why there is no figure.
  function peakText(peak) {
    if (!peak || peak.used_connections === null) return 'not measured';
    return fixed(peak.used_connections, 0) + ' used (' +
        percent(peak.utilization_ratio) + ') in the last ' +
        fixed(peak.window_seconds, 0) + ' s';
  }

  function connectionNumbers(c, peak) {
    return el('dl', {},
        ...field('Usable limit', 'usable_connections', c.usable_connections),
        ...field('Used', 'used_connections', c.used_connections),
        ...field('Available', 'available_connections', c.available_connections),
        ...field('Utilization', 'utilization_ratio', percent(c.utilization_ratio)),
        ...field('Headroom line (' + percent(c.near_limit_threshold_ratio) + ')',
                 'headroom_connections', fixed(c.headroom_connections, 1)),
        ...field('Max / reserved', 'max_connections',
                 c.max_connections + ' / ' + c.reserved_connections),
        ...field('Idle ratio', 'idle_ratio', percent(c.idle_ratio)),
        ...field('Oldest idle in transaction',
                 'oldest_idle_in_transaction_seconds',
                 seconds(c.oldest_idle_in_transaction_seconds)),
        ...field('Waiting on locks', 'lock_waiting_connections',
                 c.lock_waiting_connections),
        ...field('Peak over the window', 'used_connections_peak', peakText(peak)));
  }

  // Applications x states: the three states the guide talks about, plus any
  // other state this target has connections in.
  function applicationTable(c) {
    const states = ['active', 'idle', 'idle in transaction'];
    for (const [state, n] of Object.entries(c.states)) {
      if (n > 0 && !states.includes(state)) states.push(state);
    }
    const body = el('tbody');
    for (const a of c.applications) {
      const row = el('tr', {}, el('td', {class: 'application'}, a.application),
                     el('td', {'data-field': 'connections'}, a.connections));
      for (const s of states) {
        row.append(el('td', {'data-state': s}, a.states[s] || 0));
      }
      row.append(el('td', {}, seconds(a.oldest_idle_in_transaction_seconds)));
      body.append(row);
    }
    return el('table', {class: 'applications'},
              el('thead', {}, el('tr', {}, el('th', {}, 'Application'),
                                 el('th', {}, 'Connections'),
                                 ...states.map((s) => el('th', {}, s)),
                                 el('th', {}, 'Oldest idle in transaction'))),
              body);
  }

  function poolTable(p) {
    const heads = ['Application', 'Replicas', 'DB_POOL_MAX', 'DB_POOL_MIN',
                   'Declared max', 'Connections', 'Busy', 'Busy peak',
                   'Peak per worker', 'Full for', 'Excess'];
    const body = el('tbody');
    for (const d of p.declared) {
      const perWorker =
          d.replicas > 0 ? fixed(d.busy_peak_connections / d.replicas, 1) : '-';
      body.append(el('tr', {'data-application': d.application},
          el('td', {}, d.application), el('td', {}, d.replicas),
          el('td', {}, d.pool_max), el('td', {}, d.pool_min),
          el('td', {}, d.declared_max_connections), el('td', {}, d.connections),
          el('td', {}, d.busy_connections),
          el('td', {'data-field': 'busy_peak_connections'},
             fixed(d.busy_peak_connections, 0)),
          el('td', {}, perWorker),
          el('td', {'data-field': 'saturated_seconds'},
             seconds(d.saturated_seconds_total)),
          el('td', {}, d.excess_connections)));
    }
    return [
      el('h3', {}, 'Declared pools'),
      el('dl', {}, ...field('Budget', 'budget_connections', p.budget_connections),
         ...field('Budget of usable', 'budget_ratio',
                  p.budget_ratio === null ? '-' : percent(p.budget_ratio))),
      el('table', {class: 'pools'},
         el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))),
         body),
    ];
  }

  // The guide's picture: each declared pool's workers × DB_POOL_MAX stacked,
  // then the overhead and pgconn's own slot, against the usable slots (the
  // solid end line) and the headroom line (dashed); inside each pool, the
  // darker part is its busy peak within the peak window.
  function poolPicture(p, c) {
    const scale = Math.max(c.usable_connections, p.budget_connections, 1);
    const bar = el('div', {class: 'bar pools', 'data-field': 'pool_picture',
                           'data-usable': c.usable_connections,
                           'data-budget': p.budget_connections});
    for (const d of p.declared) {
      if (d.declared_max_connections <= 0) continue;
      const peak = fixed(d.busy_peak_connections, 0);
      const peakShare =
          Math.min(d.busy_peak_connections / d.declared_max_connections, 1);
      bar.append(place(
          el('span', {class: 'seg pool', 'data-application': d.application,
                      'data-declared-max': d.declared_max_connections,
                      'data-busy-peak': peak,
                      title: d.application + ': ' + d.replicas +
                          ' \u00d7 DB_POOL_MAX ' + d.pool_max + ' = ' +
                          d.declared_max_connections + '; busy peak ' + peak},
             place(el('span', {class: 'peak'}), {width: share(peakShare, 1)}),
             d.application + ' ' + d.replicas + '\u00d7' + d.pool_max),
          {width: share(d.declared_max_connections, scale),
           background: colour(d.application)}));
    }
    if (p.overhead_connections > 0) {
      bar.append(place(el('span', {class: 'seg fixed',
                                   title: 'overhead ' + p.overhead_connections},
                          'overhead'),
                       {width: share(p.overhead_connections, scale)}));
    }
    if (p.monitoring_agents > 0) {
      bar.append(place(el('span', {class: 'seg fixed',
                                   title: 'pgconn\'s own session'}),
                       {width: share(p.monitoring_agents, scale)}));
    }
    const headroom = percent(c.near_limit_threshold_ratio);
    bar.append(
        place(el('span', {class: 'line', title: 'headroom: ' + headroom +
                                                ' of usable'}),
              {left: share(c.headroom_connections, scale)}),
        place(el('span', {class: 'line usable',
                          title: 'usable: ' + c.usable_connections}),
              {left: share(c.usable_connections, scale)}));
    return [
      el('h4', {}, 'Workers \u00d7 DB_POOL_MAX against the usable slots'), bar,
      el('p', {class: 'legend'},
         'Budget ' + p.budget_connections + ' of ' + c.usable_connections +
             ' usable (dashed: ' + headroom + ' headroom line, ' +
             fixed(c.headroom_connections, 1) +
             '); the darker part of each pool is its busy peak. ',
         el('code', {}, 'pgconn-agent plan --from-prometheus'),
         ' sizes the pools from a week of it.'),
    ];
  }

  // The last hour of used connections: one line per run of the chart (the
  // highest sample of each 10 s; a gap of more than three poll intervals
  // starts a new run), the usable slots (solid) and the headroom line
  // (dashed).
  function usedHistory(h, c) {
    const heading = el('h3', {}, 'Used connections, last hour');
    if (h.samples.length === 0) {
      return [heading, el('p', {'data-field': 'used_history', 'data-samples': 0},
                          'No poll yet.')];
    }
    const span = h.span_seconds * 1000;
    const end = h.samples[h.samples.length - 1][0];
    const start = end - span;
    let top = Math.max(c.usable_connections, 1);
    for (const [, used] of h.samples) top = Math.max(top, used);
    const plot = kChartHeight - 20;
    const x = (ms) => fixed(((ms - start) * kChartWidth) / span, 1);
    const y = (v) => fixed(kChartHeight - 10 - (v * plot) / top, 1);
    const chart = svg('svg', {
      class: 'history', 'data-field': 'used_history',
      'data-samples': h.samples.length, 'data-highest': h.highest[1],
      viewBox: '0 0 ' + kChartWidth + ' ' + kChartHeight, width: kChartWidth,
      height: kChartHeight, role: 'img',
      'aria-label': 'used connections over the last hour',
    });
    const level = (cls, v) =>
        svg('line', {class: cls, x1: 0, x2: kChartWidth, y1: y(v), y2: y(v)});
    chart.append(level('usable', c.usable_connections),
                 level('headroom', c.headroom_connections));
    for (const run of h.chart) {
      chart.append(svg('polyline', {
        class: 'used',
        points: run.map(([ms, used]) => x(ms) + ',' + y(used)).join(' '),
      }));
      // A run of one point draws no line: mark it.
      if (run.length === 1) {
        chart.append(svg('circle', {class: 'used', r: 2, cx: x(run[0][0]),
                                    cy: y(run[0][1])}));
      }
    }
    chart.append(
        svg('text', {x: 4, y: 12}, top),
        svg('text', {x: 4, y: kChartHeight - 1}, clockTime(start)),
        svg('text', {x: kChartWidth - 4, y: kChartHeight - 1,
                     'text-anchor': 'end'}, clockTime(end)));
    return [
      heading, chart,
      el('p', {class: 'legend'}, 'Highest ',
         el('b', {'data-field': 'used_highest'}, h.highest[1]),
         ' at ' + clockTime(h.highest[0]) + '; red: the ' +
             c.usable_connections +
             ' usable slots, dashed: the headroom line. One sample per poll ' +
             '(at most one a second), ' + h.samples.length +
             ' kept in memory.'),
    ];
  }

  function bouncer(b) {
    const body = el('tbody');
    for (const p of b.pools) {
      body.append(el('tr', {}, el('td', {}, p.database), el('td', {}, p.user),
                     el('td', {}, p.waiting_clients),
                     el('td', {}, seconds(p.max_wait_seconds))));
    }
    return [
      el('dl', {}, ...field('Clients waiting', 'waiting_clients', b.waiting_clients),
         ...field('Logical / physical connections', 'logical_physical',
                  b.logical_connections + ' / ' + b.physical_connections),
         ...field('Client connections used', 'client_utilization_ratio',
                  b.client_utilization_ratio === null
                      ? '-' : percent(b.client_utilization_ratio))),
      el('table', {class: 'bouncer-pools'},
         el('thead', {}, el('tr', {}, el('th', {}, 'Database'),
                            el('th', {}, 'User'), el('th', {}, 'Waiting'),
                            el('th', {}, 'Longest wait'))),
         body),
    ];
  }

  function target(t) {
    const state = !t.polled ? 'not polled yet' : t.up ? 'up' : 'down';
    const section = el('section', {class: 'target', 'data-target': t.target,
                                   'data-kind': t.kind},
        el('h2', {}, t.target, ' ',
           el('span', {class: 'kind'},
              t.kind === 'pgbouncer' ? 'PgBouncer' : 'PostgreSQL'),
           ' ', el('span', {class: t.up ? 'up' : 'down', 'data-field': 'up'},
                   state)));
    section.append(...warnings(t.warnings));
    const c = t.connections;
    if (c) {
      section.append(connectionsBar(c), connectionNumbers(c, t.peak),
                     applicationTable(c));
    }
    if (t.pools) {
      section.append(...poolTable(t.pools));
      if (c) section.append(...poolPicture(t.pools, c));
    }
    if (t.used_history && c) section.append(...usedHistory(t.used_history, c));
    if (t.pgbouncer) section.append(...bouncer(t.pgbouncer));
    return section;
  }

  // --- Fetch, draw, again ---------------------------------------------------

  let refreshSeconds = kDefaultRefreshSeconds;

  function showError(text) {
    let error = document.getElementById('error');
    if (!error) {
      error = el('p', {id: 'error', class: 'critical'});
      document.getElementById('targets').before(error);
    }
    error.textContent = text;
  }

  async function load() {
    const main = document.getElementById('targets');
    try {
      const response = await fetch('/api/v1/status', {cache: 'no-store'});
      if (!response.ok) {
        throw new Error('/api/v1/status answered ' + response.status);
      }
      const status = await response.json();
      if (status.refresh_seconds > 0) refreshSeconds = status.refresh_seconds;
      main.replaceChildren(...(status.targets.length > 0
          ? status.targets.map(target)
          : [el('p', {}, 'No target is configured.')]));
      document.getElementById('error')?.remove();
      main.dataset.load = 'rendered';
    } catch (e) {
      // The last drawing stays, under the reason it is not fresh.
      showError('Could not load /api/v1/status (' + e.message +
                '); the numbers below are not current. Retrying.');
      main.dataset.load = 'failed';
    }
    document.getElementById('refresh').textContent =
        'Reloads every ' + refreshSeconds + ' s. ';
    setTimeout(load, refreshSeconds * 1000);
  }

  load();
})();
