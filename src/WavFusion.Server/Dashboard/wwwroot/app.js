// WavFusion.Live dashboard. Plain JavaScript, no libraries: the page works offline and loads nothing from outside.
// Data: the server's JSON lines (the proto's JSON mapping) streamed with fetch(), which, unlike EventSource, can send
// the x-api-key header. The key is typed in and kept in this tab's sessionStorage at most, never in a URL.
'use strict';

(() => {
  const KEY_STORE = 'wavfusion.watchKey';
  const RECENT_LATENCIES = 200;
  const MAX_RESULTS = 4000;          // per view: the page's memory stays bounded on a long call
  const VIEW_MS = 60_000;            // the chart shows the last minute of stream time
  const ENDED_KEEP_MS = 5 * 60_000;  // ended sessions stay listed (dimmed) this long
  const RETRY_MS = 2_000;

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const num = (v) => (v === undefined || v === null || v === '' ? 0 : Number(v));

  // ---------- connection state ----------
  const state = {
    key: sessionStorage.getItem(KEY_STORE) || '',
    sessions: new Map(),   // id -> { info, ended, endedAt }
    selected: null,
    listAbort: null,
    view: null,            // the selected session's view
    retryTimer: null,
  };

  class HttpError extends Error {
    constructor(status, text) {
      super(text || `HTTP ${status}`);
      this.status = status;
    }
  }

  function headers() {
    return state.key ? { 'x-api-key': state.key } : {};
  }

  // Streams `url` as JSON lines into onLine until the server ends it; empty lines are keep-alives.
  async function streamLines(url, signal, onLine) {
    const res = await fetch(url, { headers: headers(), signal, cache: 'no-store', credentials: 'omit' });
    if (!res.ok) throw new HttpError(res.status, (await res.text()).trim());
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) onLine(JSON.parse(line));
      }
    }
  }

  function setConn(kind, text) {
    $('conn').dataset.state = kind;
    $('conn-text').textContent = text;
  }

  function authMessage(err) {
    if (err.status === 401) return state.key ? 'unknown key' : 'this server needs a key with the watch right';
    if (err.status === 403) return 'this key lacks the watch right';
    return null;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    if (state.listAbort) state.listAbort.abort();
    const abort = new AbortController();
    state.listAbort = abort;
    setConn('connecting', 'connecting…');
    let first = true;
    streamLines('/api/v1/sessions/live', abort.signal, (list) => {
      if (first) {
        first = false;
        setConn('live', state.key ? 'live' : 'live · open server (no key needed)');
        $('placeholder-text').textContent = 'Select a session to watch its emotions live.';
        if (state.selected && !state.view) select(state.selected);
      }
      onSessions(list.sessions || []);
    }).then(() => {
      if (abort.signal.aborted) return;
      setConn('connecting', 'server closed the stream · reconnecting');
      retry();
    }, (err) => {
      if (abort.signal.aborted) return;
      const auth = err instanceof HttpError ? authMessage(err) : null;
      if (auth) {
        setConn('error', auth);
        $('placeholder-text').textContent = 'Enter a key with the watch right to see the server\'s live sessions.';
        $('key').focus();
        return;
      }
      setConn('error', `${err.message || err} · retrying`);
      retry();
    });
  }

  function retry() {
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, RETRY_MS);
  }

  // ---------- sessions list ----------
  function onSessions(list) {
    const now = Date.now();
    const open = new Set();
    for (const info of list) {
      open.add(info.sessionId);
      const known = state.sessions.get(info.sessionId);
      if (known) {
        known.info = info;
        known.ended = false;
      } else {
        state.sessions.set(info.sessionId, { info, ended: false, endedAt: 0 });
      }
    }
    for (const [id, s] of state.sessions) {
      if (!open.has(id) && !s.ended) {
        s.ended = true;
        s.endedAt = now;
        if (state.view && state.view.id === id) markEnded(state.view);
      }
      if (s.ended && now - s.endedAt > ENDED_KEEP_MS && id !== state.selected) state.sessions.delete(id);
    }
    renderSessions();
    if (!state.selected) {
      const newest = [...state.sessions.values()].filter((s) => !s.ended).pop();
      if (newest) select(newest.info.sessionId);
    }
  }

  function age(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  }

  function roleName(role) {
    return String(role || 'ROLE_UNSPECIFIED').replace('ROLE_UNSPECIFIED', 'default').toLowerCase();
  }

  function channelText(info) {
    const channels = info.channels || [];
    if (channels.length === 0) return 'mono';
    return channels.map((c) => `ch${num(c.channel)} ${roleName(c.role)}`).join(' · ');
  }

  function modalityText(m) {
    if (!m) return '';
    return ['audio', 'text', 'visual'].filter((k) => m[k]).join(' + ');
  }

  function renderSessions() {
    const ul = $('session-list');
    const items = [...state.sessions.values()].sort((a, b) => num(b.info.startedUnixMs) - num(a.info.startedUnixMs));
    const rows = new Map([...ul.children].map((li) => [li.dataset.sessionId, li]));
    const now = Date.now();
    let live = 0;
    items.forEach((s, index) => {
      const id = s.info.sessionId;
      if (!s.ended) live++;
      let li = rows.get(id);
      if (!li) {
        li = el('li', 'session');
        li.dataset.sessionId = id;
        li.tabIndex = 0;
        li.setAttribute('role', 'option');
        const row1 = el('div', 'row1');
        row1.append(el('span', 'live-dot'), el('span', 'label'), el('span', 'age'));
        const row2 = el('div', 'row2');
        row2.append(el('span', 'channels-text'), el('span', 'modalities-text'));
        li.append(row1, row2, el('div', 'id', id));
        li.addEventListener('click', () => select(id));
        li.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(id); } });
      }
      li.querySelector('.label').textContent = s.info.sessionLabel || 'unlabelled stream';
      li.querySelector('.age').textContent = s.ended ? 'ended' : age(now - num(s.info.startedUnixMs));
      li.querySelector('.channels-text').textContent = channelText(s.info);
      li.querySelector('.modalities-text').textContent = modalityText(s.info.modalities);
      li.dataset.ended = String(s.ended);
      li.setAttribute('aria-selected', String(id === state.selected));
      if (ul.children[index] !== li) ul.insertBefore(li, ul.children[index] || null);
      rows.delete(id);
    });
    for (const li of rows.values()) li.remove();
    $('session-count').textContent = String(live);
    $('no-sessions').hidden = items.length > 0;
  }

  setInterval(() => {
    if (state.sessions.size) renderSessions();
  }, 1000);

  // ---------- one session's view ----------
  function newView(id) {
    return {
      id,
      abort: new AbortController(),
      labels: [],            // label order of the model (from the first result)
      results: [],           // { channel, final, start, end, probs: Map label->p, top, transcript, latency }
      channels: [],          // analysed channels seen
      channel: null,         // channel shown in the chart
      latencies: [],
      finals: 0,
      interims: 0,
      dropped: 0,
      speaking: false,
      modalities: null,      // of the latest result
      modelVersion: '',
      summary: null,
      ended: false,
      dirty: true,
    };
  }

  function select(id) {
    if (state.view && state.view.id === id) return;
    if (state.view) state.view.abort.abort();
    state.selected = id;
    const view = newView(id);
    state.view = view;
    renderSessions();
    $('placeholder').hidden = true;
    $('detail').hidden = false;
    $('summary').hidden = true;
    resetDetail(view);
    watch(view);
  }

  function watch(view) {
    streamLines(`/api/v1/watch?session_id=${encodeURIComponent(view.id)}`, view.abort.signal, (w) => onWatch(view, w))
      .then(() => { if (!view.abort.signal.aborted) markEnded(view); },
        (err) => {
          if (view.abort.signal.aborted) return;
          if (err instanceof HttpError && err.status === 404) { markEnded(view, 'ended before it could be watched'); return; }
          const auth = err instanceof HttpError ? authMessage(err) : null;
          setState(view, 'error', auth || (err.message || String(err)));
        });
  }

  function onWatch(view, w) {
    if (state.view !== view) return;
    view.dropped = num(w.droppedEvents);
    const e = w.event || {};
    if (e.result) onResult(view, e.result);
    else if (e.speechEvent) {
      view.speaking = e.speechEvent.type === 'SPEECH_BEGIN';
    } else if (e.summary) {
      view.summary = e.summary;
      markEnded(view);
    }
    scheduleRender();
  }

  function onResult(view, r) {
    const probs = new Map();
    for (const s of r.fused || []) {
      probs.set(s.label, num(s.probability));
      if (!view.labels.includes(s.label)) view.labels.push(s.label);
    }
    const channel = num(r.channel);
    if (!view.channels.includes(channel)) {
      view.channels.push(channel);
      view.channels.sort((a, b) => a - b);
      if (view.channel === null) view.channel = channel;
      renderChannels(view);
    }
    const final = !!r.isFinal;
    view.results.push({
      channel, final, probs,
      start: num(r.startOffsetMs), end: num(r.endOffsetMs),
      top: r.topLabel || '', stability: num(r.stability),
      transcript: r.transcript || '', latency: num(r.latencyMs),
    });
    if (view.results.length > MAX_RESULTS) view.results.splice(0, view.results.length - MAX_RESULTS);
    if (final) view.finals++; else view.interims++;
    view.latencies.push(num(r.latencyMs));
    if (view.latencies.length > RECENT_LATENCIES) view.latencies.shift();
    view.modalities = r.modalitiesPresent || view.modalities;
    view.modelVersion = r.modelVersion || view.modelVersion;
    view.dirty = true;
  }

  function markEnded(view, why) {
    if (view.ended) return;
    view.ended = true;
    setState(view, 'ended', why || 'ended');
    scheduleRender();
  }

  function setState(view, kind, text) {
    if (state.view !== view) return;
    const badge = $('d-state');
    badge.dataset.state = kind;
    badge.textContent = text;
  }

  function resetDetail(view) {
    const s = state.sessions.get(view.id);
    const info = s ? s.info : { sessionId: view.id };
    $('d-title').textContent = info.sessionLabel || 'unlabelled stream';
    setState(view, s && s.ended ? 'ended' : 'live', s && s.ended ? 'ended' : 'live');
    $('channels').hidden = true;
    $('channels').replaceChildren();
    $('transcript').replaceChildren();
    renderDetail();
  }

  function renderChannels(view) {
    const box = $('channels');
    box.hidden = view.channels.length < 2;
    box.replaceChildren(...view.channels.map((c) => {
      const b = el('button', '', `ch${c}`);
      b.type = 'button';
      b.setAttribute('aria-pressed', String(c === view.channel));
      b.addEventListener('click', () => { view.channel = c; renderChannels(view); view.dirty = true; scheduleRender(); });
      return b;
    }));
  }

  // ---------- rendering ----------
  let frame = 0;
  function scheduleRender() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; renderDetail(); });
  }

  const NAMED_COLOURS = {
    neutral: '#8b93a7', calm: '#14b8a6', happy: '#f59e0b', happiness: '#f59e0b', joy: '#f59e0b',
    sad: '#3b82f6', sadness: '#3b82f6', angry: '#ef4444', anger: '#ef4444', frustrated: '#f97316',
    fear: '#8b5cf6', fearful: '#8b5cf6', surprise: '#ec4899', surprised: '#ec4899', excited: '#eab308',
    disgust: '#65a30d', disgusted: '#65a30d',
  };
  const SPARE_COLOURS = ['#0ea5e9', '#a855f7', '#22c55e', '#e11d48', '#64748b', '#d946ef', '#84cc16'];
  function colourOf(view, label) {
    const named = NAMED_COLOURS[String(label).toLowerCase()];
    if (named) return named;
    return SPARE_COLOURS[view.labels.indexOf(label) % SPARE_COLOURS.length];
  }

  function percentile(values, p) {
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank];
  }

  function clock(ms) {
    const s = Math.max(0, ms) / 1000;
    const m = Math.floor(s / 60);
    return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
  }

  function swatch(colour) {
    const s = el('span', 'swatch');
    s.style.background = colour;
    return s;
  }

  function renderDetail() {
    const view = state.view;
    if (!view) return;
    const s = state.sessions.get(view.id);
    const info = s ? s.info : null;
    const started = info ? new Date(num(info.startedUnixMs)) : null;
    const meta = [];
    meta.push(`id ${view.id}`);
    if (started) meta.push(`started ${started.toLocaleTimeString()}`);
    if (info) meta.push(channelText(info));
    if (view.modelVersion) meta.push(`model ${view.modelVersion}`);
    $('d-meta').textContent = meta.join(' · ');
    $('d-title').textContent = (info && info.sessionLabel) || 'unlabelled stream';

    const speech = $('d-speech');
    speech.dataset.speaking = String(view.speaking && !view.ended);
    speech.textContent = view.speaking && !view.ended ? 'speaking' : 'silent';

    // Now: the latest result of the charted channel.
    const latest = [...view.results].reverse().find((r) => r.channel === view.channel);
    const top = $('t-top');
    if (latest && latest.top) {
      top.replaceChildren(swatch(colourOf(view, latest.top)), el('span', '', latest.top));
      const p = latest.probs.get(latest.top) || 0;
      $('t-top-sub').textContent = `${(p * 100).toFixed(0)} % · ${latest.final ? 'final' : 'interim'} at ${clock(latest.end)}`;
    } else {
      top.textContent = '—';
      $('t-top-sub').textContent = 'waiting for the first result';
    }

    // Modalities: present in the latest result, declared by the stream, or absent.
    const declared = (info && info.modalities) || {};
    const present = view.modalities || {};
    $('t-modalities').replaceChildren(...['audio', 'text', 'visual'].map((m) => {
      const chip = el('span', 'chip', m);
      chip.dataset.state = present[m] ? 'present' : declared[m] ? 'declared' : 'absent';
      chip.title = present[m] ? 'in the latest result' : declared[m] ? 'announced by the stream, not in the latest result' : 'not in this stream';
      return chip;
    }));

    const p50 = percentile(view.latencies, 50);
    const p95 = percentile(view.latencies, 95);
    $('t-latency').textContent = Number.isNaN(p50) ? '—' : `${p50.toFixed(0)} / ${p95.toFixed(0)} ms`;
    $('t-latency-sub').textContent = view.latencies.length ? `of the last ${view.latencies.length} results` : 'no results yet';
    $('t-results').textContent = String(view.finals + view.interims);
    $('t-results-sub').textContent = `${view.finals} final · ${view.interims} interim`;
    const pipelineDrops = view.summary ? Object.values(view.summary.dropped || {}).reduce((a, b) => a + num(b), 0) : 0;
    $('t-dropped').textContent = String(view.dropped + pipelineDrops);
    $('t-dropped-sub').textContent = view.summary
      ? `view ${view.dropped} · pipeline ${pipelineDrops}`
      : 'events this view lost';

    renderLegend(view);
    renderTranscript(view);
    renderSummary(view);
    if (view.dirty) {
      view.dirty = false;
      drawChart(view);
    }
  }

  function renderLegend(view) {
    const legend = $('legend');
    if (legend.childElementCount === view.labels.length) return;
    legend.replaceChildren(...view.labels.map((label) => {
      const item = el('span');
      item.append(swatch(colourOf(view, label)), document.createTextNode(label));
      return item;
    }));
  }

  function renderTranscript(view) {
    const box = $('transcript');
    const finals = view.results.filter((r) => r.final && r.transcript && r.channel === view.channel);
    const latest = view.results.length ? view.results[view.results.length - 1] : null;
    const interim = latest && !latest.final && latest.transcript && latest.channel === view.channel ? latest : null;
    const key = `${finals.length}|${interim ? interim.transcript : ''}|${view.results.length > 0}|${view.ended}`;
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    const rows = finals.map((r) => segment(r, false));
    if (interim) rows.push(segment(interim, true));
    if (rows.length === 0) {
      rows.push(el('div', 'none', view.results.length
        ? 'No transcript in these results: the server transcribes with --whisper, or the client sends its own.'
        : 'Waiting for speech…'));
    }
    box.replaceChildren(...rows);
    if (stick) box.scrollTop = box.scrollHeight;
  }

  function segment(r, interim) {
    const row = el('div', interim ? 'seg interim' : 'seg');
    row.append(el('span', 'ts', clock(r.start)), el('span', 'text', r.transcript));
    return row;
  }

  function renderSummary(view) {
    const box = $('summary');
    const s = view.summary;
    box.hidden = !s;
    if (!s || box.dataset.done === view.id) return;
    box.dataset.done = view.id;
    const dropped = Object.entries(s.dropped || {}).map(([k, v]) => `${k} ${num(v)}`).join(', ') || 'none';
    const rows = [
      ['Ended', `${String(s.reason || '').toLowerCase().replace(/_/g, ' ')}${s.detail ? ` (${s.detail})` : ''}`],
      ['Audio', `${(num(s.audioDurationMs) / 1000).toFixed(1)} s of stream time in ${(num(s.wallDurationMs) / 1000).toFixed(1)} s`],
      ['Results', `${num(s.results)} (${num(s.finalResults)} final), ${num(s.speechEvents)} speech events`],
      ['Latency p50 / p95', `${num(s.latencyP50Ms).toFixed(0)} / ${num(s.latencyP95Ms).toFixed(0)} ms`],
      ['Frames', `${num(s.framesReceived)} received, ${num(s.framesUndecodable)} undecodable`],
      ['Dropped in the pipeline', dropped],
    ];
    $('summary-list').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', '', k), el('dd', '', v)]));
  }

  // ---------- chart (canvas, drawn by hand) ----------
  const canvas = $('chart');
  const PAD = { left: 40, right: 12, top: 10, bottom: 24 };

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function chartGeometry(view) {
    const shown = view.results.filter((r) => r.channel === view.channel);
    const tMax = shown.reduce((m, r) => Math.max(m, r.end), 0);
    const t1 = Math.max(tMax, 5000);
    const t0 = Math.max(0, t1 - VIEW_MS);
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (w - PAD.left - PAD.right);
    const y = (p) => PAD.top + (1 - p) * (h - PAD.top - PAD.bottom);
    return { shown, t0, t1, w, h, x, y };
  }

  function drawChart(view) {
    const dpr = window.devicePixelRatio || 1;
    const g = chartGeometry(view);
    if (canvas.width !== Math.round(g.w * dpr) || canvas.height !== Math.round(g.h * dpr)) {
      canvas.width = Math.round(g.w * dpr);
      canvas.height = Math.round(g.h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, g.w, g.h);
    const ink = cssVar('--muted');
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;

    // Grid: probability every 25 %, time every few seconds.
    ctx.strokeStyle = cssVar('--grid');
    ctx.fillStyle = ink;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let p = 0; p <= 1.0001; p += 0.25) {
      const yy = Math.round(g.y(p)) + 0.5;
      ctx.beginPath(); ctx.moveTo(PAD.left, yy); ctx.lineTo(g.w - PAD.right, yy); ctx.stroke();
      ctx.fillText(`${Math.round(p * 100)}%`, PAD.left - 6, yy);
    }
    const span = g.t1 - g.t0;
    const step = [1000, 2000, 5000, 10000, 15000, 30000, 60000].find((s) => span / s <= 12) || 60000;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let t = Math.ceil(g.t0 / step) * step; t <= g.t1; t += step) {
      const xx = Math.round(g.x(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(xx, PAD.top); ctx.lineTo(xx, g.h - PAD.bottom); ctx.stroke();
      ctx.fillText(clock(t).replace(/\.0$/, ''), xx, g.h - PAD.bottom + 6);
    }

    const visible = g.shown.filter((r) => r.end >= g.t0);
    const interim = visible.filter((r) => !r.final);
    const finals = visible.filter((r) => r.final);
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top - 4, g.w - PAD.left - PAD.right, g.h - PAD.top - PAD.bottom + 8);
    ctx.clip();
    for (const label of view.labels) {
      const colour = colourOf(view, label);
      // Interim windows: a thin dashed line through each window's end.
      ctx.strokeStyle = colour;
      ctx.globalAlpha = 0.6;
      ctx.lineWidth = 1.4;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      interim.forEach((r, i) => {
        const px = g.x(r.end), py = g.y(r.probs.get(label) || 0);
        if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
      });
      ctx.stroke();
      ctx.setLineDash([]);
      // Finals: a bold bar over the utterance they score, with a dot at its end.
      ctx.globalAlpha = 1;
      ctx.lineWidth = 3;
      ctx.lineCap = 'round';
      ctx.fillStyle = colour;
      for (const r of finals) {
        const py = g.y(r.probs.get(label) || 0);
        ctx.beginPath(); ctx.moveTo(g.x(Math.max(r.start, g.t0)), py); ctx.lineTo(g.x(r.end), py); ctx.stroke();
        ctx.beginPath(); ctx.arc(g.x(r.end), py, 3, 0, Math.PI * 2); ctx.fill();
      }
    }
    ctx.restore();

    if (g.shown.length === 0) {
      ctx.fillStyle = cssVar('--faint');
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.font = '13px system-ui, sans-serif';
      ctx.fillText(view.ended ? 'No results in this session' : 'Waiting for results…', g.w / 2, g.h / 2);
    }
    // What the chart holds, for tests and for anyone inspecting the page.
    canvas.dataset.points = String(g.shown.length);
    canvas.dataset.finalPoints = String(g.shown.filter((r) => r.final).length);
    canvas.dataset.interimPoints = String(g.shown.filter((r) => !r.final).length);
  }

  // Hover: the nearest result's probabilities.
  canvas.addEventListener('mousemove', (ev) => {
    const view = state.view;
    const tip = $('chart-tip');
    if (!view) return;
    const g = chartGeometry(view);
    const rect = canvas.getBoundingClientRect();
    const mx = ev.clientX - rect.left;
    let best = null, bestDist = 24;
    for (const r of g.shown) {
      if (r.end < g.t0) continue;
      const d = Math.abs(g.x(r.end) - mx);
      if (d < bestDist || (d === bestDist && r.final)) { best = r; bestDist = d; }
    }
    if (!best) { tip.hidden = true; return; }
    const rows = [...best.probs.entries()].sort((a, b) => b[1] - a[1]).map(([label, p]) => {
      const row = el('div', 'r');
      row.append(swatch(colourOf(view, label)), el('span', '', label), el('b', '', `${(p * 100).toFixed(0)} %`));
      return row;
    });
    tip.replaceChildren(el('div', 't', `${best.final ? 'final' : 'interim'} ${clock(best.start)}–${clock(best.end)}`), ...rows);
    tip.hidden = false;
    const left = Math.min(mx + 14, rect.width - tip.offsetWidth - 4);
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = '8px';
  });
  canvas.addEventListener('mouseleave', () => { $('chart-tip').hidden = true; });

  new ResizeObserver(() => { if (state.view) { state.view.dirty = true; scheduleRender(); } }).observe(canvas);

  // ---------- key entry ----------
  function showKeyState() {
    $('forget').hidden = !state.key;
    $('key').value = '';
    $('key').placeholder = state.key ? 'key kept for this tab only' : 'API key with the watch right';
  }

  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('key').value.trim();
    if (!key) return;
    state.key = key;
    sessionStorage.setItem(KEY_STORE, key);
    showKeyState();
    if (state.view) { state.view.abort.abort(); state.view = null; }
    connect();
  });

  $('forget').addEventListener('click', () => {
    state.key = '';
    sessionStorage.removeItem(KEY_STORE);
    showKeyState();
    if (state.view) { state.view.abort.abort(); state.view = null; }
    if (state.listAbort) state.listAbort.abort();
    state.sessions.clear();
    state.selected = null;
    renderSessions();
    $('detail').hidden = true;
    $('placeholder').hidden = false;
    connect();
  });

  showKeyState();
  renderSessions();
  connect();
})();
