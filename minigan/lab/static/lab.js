// minigan lab: the page. It asks the lab's server (server.py) for the state of one GAN game,
// draws it, and sends the buttons and settings back. The server does all the training and all
// the numbers (session.py, views.py); this file only draws what it is sent. In a replay
// (export.py's page) the recording in window.LAB_REPLAY stands in for the server.
//
//   state & API calls    one request at a time; the client's copy of the history; render()
//   the plane            the layers: heat map, contour, samples, arrows, latent grid, field
//   contour              marching squares for D(x) = 1/2
//   charts               losses, D's verdicts, the modes
//   controls             buttons, settings, drawn data
//   play loop            step, draw, step again
//   the last-step panel  what the last updates did, in the server's words
//   replay               a recorded run's frames on a slider, no server
'use strict';

// --- the palette (lab.css repeats these for the legend's swatches) ------------------------------
const REAL_COLOUR = '#2166ac';           // real samples, and D's "real" side of the heat map
const FAKE_COLOUR = '#d95f02';           // G's samples, and D's "fake" side
const REAL_TINT = [198, 219, 239];       // the heat map where D(x) = 1
const MIDDLE_TINT = [255, 255, 255];     // ... where D(x) = 1/2
const FAKE_TINT = [253, 208, 162];       // ... where D(x) = 0
const CONTOUR_COLOUR = '#222222';
const ARROW_COLOUR = 'rgba(84, 39, 143, 0.75)';
const LATENT_COLOUR = 'rgba(80, 80, 80, 0.45)';
const FIELD_COLOUR = 'rgba(60, 60, 60, 0.4)';
const DRAWN_COLOUR = '#111111';          // drawn points not yet sent
const D_COLOUR = '#1b7837';              // D's loss on the chart
const G_COLOUR = FAKE_COLOUR;            // G's loss: G is what makes the fakes
const MODES_COLOUR = '#7b3294';
const HQ_COLOUR = '#1b7837';
const KL_COLOUR = '#888888';
const AXIS_COLOUR = '#999999';
const FONT = '11px system-ui, sans-serif';

const ARROW_LENGTH = 0.08;      // the longest push arrow, as a fraction of the plane's width
const FIELD_LENGTH = 0.45;      // the longest field arrow, as a fraction of a field cell
const DRAW_PER_CLICK = 8;       // drawn points added by one click ...
const DRAW_SPREAD = 0.02;       // ... within this fraction of the plane's width

// --- state & API calls ---------------------------------------------------------------------------
let state = null;               // the state drawn: the server's last, or a replay's frame
let history = [];               // the rows the charts draw: the client's copy of run `run`'s
                                // history, or in a replay the recorded rows up to the frame
let run = null;
let pending = [];               // drawn points, [x, y] in data coordinates, not yet sent
let errorText = null;           // the last request's refusal, shown until a request succeeds
let playing = false;            // the Play button is on
let looping = false;            // the play loop has a step on its way (so never two loops)
let frames = 0;                 // renders so far
let inFlight = 0;               // requests sent or waiting to be sent, not yet answered
let queue = Promise.resolve();  // the requests, one after the other
let shownSettings = '';         // the settings the inputs show, as JSON

let recording = null;           // a replay's window.LAB_REPLAY, else null
let replayFrame = null;         // the replay's frame shown, an index into recording.frames

// For the browser (Selenium) tests, read only: they wait for requestsInFlight to be 0, and
// compare frames and lastState before and after a click (or a move of the replay's slider).
window.labDebug = Object.freeze({
  get frames() { return frames; },
  get lastState() { return state; },
  get requestsInFlight() { return inFlight; },
  get replayFrame() { return replayFrame; },
});

const $ = id => document.getElementById(id);

// The server's token, written into this page when it was served: every POST carries it back
// (X-Lab-Token), with Content-Type application/json, or the server refuses it. Pages of other
// sites cannot read it (server.py says why). Empty in a replay, which sends nothing.
const TOKEN = document.querySelector('meta[name="lab-token"]').content;

// Requests go out one at a time, in order: an answer always carries the history rows from the
// number of rows held when it was sent (`since`), so two at once would both bring the same rows.
// `fields` undefined: GET the state; else POST `fields` to `path`. Resolves to true if accepted.
function request(path, fields) {
  inFlight += 1;
  updateButtons();
  const send = () => {
    const since = history.length;
    if (fields === undefined) return fetch(`${path}?since=${since}`).then(readAnswer);
    return fetch(path, {method: 'POST',
                        headers: {'Content-Type': 'application/json', 'X-Lab-Token': TOKEN},
                        body: JSON.stringify({...fields, since})}).then(readAnswer);
  };
  const done = queue.then(send).then(
    answer => { errorText = null; receive(answer); return true; },
    error => { errorText = describe(error); showMessage(); return false; },
  ).finally(() => { inFlight -= 1; updateButtons(); });
  queue = done.catch(() => {});       // a bug in receive() must not stop the later requests
  return done;
}

// The server answers JSON: the state, or {error: message} with status 400 (403, 404, 413,
// 415, 500).
async function readAnswer(response) {
  let answer = null;
  try { answer = await response.json(); } catch (notJson) { /* said below */ }
  if (!response.ok || answer === null || answer.error) {
    throw new Error(answer && answer.error ? answer.error
      : `the server answered ${response.status} ${response.statusText}`);
  }
  return answer;
}

// fetch itself fails (a TypeError) only when no answer came at all.
function describe(error) {
  return error instanceof TypeError ? `no answer from the lab server (${error.message}): is it `
    + 'still running?' : error.message;
}

const getState = () => request('/api/state');
const act = (action, repeat = 1) => request('/api/act', {action, repeat});

// Keep the history: rows from history_from on replace what we hold from there. A new run
// (Reset) starts an empty history; if we missed its first rows, ask again from 0.
function receive(answer) {
  if (answer.run !== run) {
    run = answer.run;
    history = [];
  }
  if (answer.history_from > history.length) {
    getState();
  } else {
    history.length = answer.history_from;
    for (const row of answer.history) history.push(row);
  }
  render(answer);
}

// Draw a state: the server's, or one a replay makes of a frame (replayState). Everything drawn
// comes from `shown` and `history`, so live and replay pages draw the same way.
function render(shown) {
  state = shown;
  frames += 1;
  // A recording of examples/gan_2d.py counts only the updates, not D's and G's apart.
  $('step-counter').textContent = `update ${state.updates}` + (state.d_updates === undefined
    ? '' : ` · D updates ${state.d_updates} · G updates ${state.g_updates}`);
  drawPlane();
  drawCharts();
  drawLastStep();
  showMessage();
  if (recording) return;             // a replay has no inputs, no drawing and no run to pause
  syncInputs(false);
  showDrawn();
  if (state.paused && playing) setPlaying(false);
}

// One line: an error; else why the run is paused; else the drawing hint; else the notice.
function showMessage() {
  const message = $('message');
  let text = '', kind = '';
  if (errorText) {
    [text, kind] = [errorText, 'error'];
  } else if (state && state.paused) {
    [text, kind] = [`Paused: ${state.paused}`, 'error'];
  } else if (drawing() && pending.length === 0 && state && state.settings.data !== 'drawn') {
    [text, kind] = ["click on the plane to draw points, then 'Train on drawn points'", 'notice'];
  } else if (state && state.notice) {
    [text, kind] = [state.notice, 'notice'];
  }
  message.textContent = text;
  message.className = kind;
}

// A canvas sized to its CSS box in device pixels (crisp on a high-DPI screen), cleared, with
// the context drawing in CSS pixels.
function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return {ctx, width, height};
}

// --- the plane -----------------------------------------------------------------------------------
const heatCanvas = document.createElement('canvas');   // one pixel per heat map cell

const shown = layer => $(`show-${layer}`).checked;

// Data coordinates to the plane's pixels: state.bounds is a square, and y goes up.
function planeMap(size) {
  const [xmin, xmax, ymin, ymax] = state.bounds;
  return {x: x => (x - xmin) / (xmax - xmin) * size,
          y: y => (ymax - y) / (ymax - ymin) * size,
          size};
}

function drawPlane() {
  if (!state) return;
  const {ctx, width} = fitCanvas($('plane'));
  const map = planeMap(width), layers = state.layers;
  // Back to front: the heat map (views.heatmap), then the lines, then the samples on top.
  if (shown('heatmap')) drawHeatmap(ctx, layers.heatmap, width);
  if (shown('latent')) drawLatent(ctx, map, layers.latent);
  if (shown('field')) {            // views.input_gradient_field: dD/dx on a 16 x 16 grid
    const cell = width / Math.sqrt(layers.field.points.length);
    drawArrows(ctx, map, layers.field.points, layers.field.vectors, FIELD_LENGTH * cell,
               FIELD_COLOUR);
  }
  if (shown('contour')) drawContour(ctx, map, layers.heatmap);
  if (shown('real')) drawDots(ctx, map, layers.real, REAL_COLOUR, 1.8);
  if (shown('fake')) drawDots(ctx, map, layers.fake, FAKE_COLOUR, 2.2);
  if (shown('arrows')) {           // views.generator_push: -dL_G/dx at each fake sample x
    drawArrows(ctx, map, layers.fake, layers.arrows.vectors, ARROW_LENGTH * width,
               ARROW_COLOUR);
  }
  drawDots(ctx, map, pending, DRAWN_COLOUR, 3, true);
  drawCorners(ctx, width);
  $('arrows-longest').textContent = `(longest ${formatNumber(layers.arrows.longest)})`;
  $('field-longest').textContent = `(longest ${formatNumber(layers.field.longest)})`;
}

// views.heatmap: sigmoid(D(x)) at the 48 x 48 cell centres, row 0 at the bottom. One pixel per
// cell, scaled up smoothly: the image's top row is the grid's last row.
function drawHeatmap(ctx, grid, size) {
  const n = grid.length;
  if (n === 0) return;                // no finite picture yet (session.EMPTY_LAYERS)
  heatCanvas.width = heatCanvas.height = n;
  const heat = heatCanvas.getContext('2d');
  const image = heat.createImageData(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const colour = heatColour(grid[i][j]);
      const at = ((n - 1 - i) * n + j) * 4;
      image.data.set([colour[0], colour[1], colour[2], 255], at);
    }
  }
  heat.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(heatCanvas, 0, 0, size, size);
}

// A diverging map: orange for "fake" (D near 0), white for "cannot tell", blue for "real".
function heatColour(d) {
  const [end, t] = d < 0.5 ? [FAKE_TINT, (0.5 - d) * 2] : [REAL_TINT, (d - 0.5) * 2];
  return MIDDLE_TINT.map((white, c) => Math.round(white + (end[c] - white) * t));
}

// Samples as dots, all in one path (a thousand separate fills would be slow); `hollow` for the
// drawn points not yet sent.
function drawDots(ctx, map, points, colour, radius, hollow = false) {
  ctx.fillStyle = ctx.strokeStyle = colour;
  ctx.lineWidth = 1;
  ctx.globalAlpha = hollow ? 1 : 0.75;
  ctx.beginPath();
  for (const [x, y] of points) {
    ctx.moveTo(map.x(x) + radius, map.y(y));
    ctx.arc(map.x(x), map.y(y), radius, 0, 2 * Math.PI);
  }
  if (hollow) ctx.stroke(); else ctx.fill();
  ctx.globalAlpha = 1;
}

// One arrow per point. The server scales the vectors so the longest has length 1 (session.py's
// _unit_scaled): `length` is how many pixels that longest one gets.
function drawArrows(ctx, map, origins, vectors, length, colour) {
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1;
  ctx.beginPath();
  origins.forEach(([x, y], n) => {
    const [dx, dy] = vectors[n];
    const x0 = map.x(x), y0 = map.y(y);
    const x1 = x0 + dx * length, y1 = y0 - dy * length;     // the canvas's y goes down
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    const pixels = Math.hypot(x1 - x0, y1 - y0);
    if (pixels > 2) {                // a head only where there is room for one
      const ux = (x1 - x0) / pixels, uy = (y1 - y0) / pixels, head = Math.min(4, pixels * 0.4);
      ctx.moveTo(x1 - head * ux - head * 0.5 * uy, y1 - head * uy + head * 0.5 * ux);
      ctx.lineTo(x1, y1);
      ctx.lineTo(x1 - head * ux + head * 0.5 * uy, y1 - head * uy - head * 0.5 * ux);
    }
  });
  ctx.stroke();
}

// views.warped_latent_grid: G's image of 22 lines of the latent plane, 41 points each.
function drawLatent(ctx, map, lines) {
  ctx.strokeStyle = LATENT_COLOUR;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const line of lines) {
    line.forEach(([x, y], n) => (n === 0 ? ctx.moveTo(map.x(x), map.y(y))
                                         : ctx.lineTo(map.x(x), map.y(y))));
  }
  ctx.stroke();
}

// The plane's corners in data coordinates, so a reader knows the scale.
function drawCorners(ctx, size) {
  const [xmin, xmax, ymin, ymax] = state.bounds;
  ctx.fillStyle = '#666';
  ctx.font = FONT;
  ctx.textBaseline = 'bottom';
  ctx.textAlign = 'left';
  ctx.fillText(`(${formatNumber(xmin)}, ${formatNumber(ymin)})`, 4, size - 3);
  ctx.textBaseline = 'top';
  ctx.textAlign = 'right';
  ctx.fillText(`(${formatNumber(xmax)}, ${formatNumber(ymax)})`, size - 4, 3);
}

// --- contour -------------------------------------------------------------------------------------
// Marching squares on the heat map's cell centres (views.grid_points): each square of four
// neighbouring centres that D(x) = 1/2 crosses gets a segment between the crossings on its
// edges, found by linear interpolation.
function contourSegments(grid, level) {
  const n = grid.length, [xmin, xmax, ymin, ymax] = state.bounds;
  const xAt = j => xmin + (j + 0.5) * (xmax - xmin) / n;      // j may be fractional
  const yAt = i => ymin + (i + 0.5) * (ymax - ymin) / n;
  const segments = [];
  for (let i = 0; i + 1 < n; i++) {
    for (let j = 0; j + 1 < n; j++) {
      // The corners in order round the square: bottom left, bottom right, top right, top left.
      const corners = [[i, j], [i, j + 1], [i + 1, j + 1], [i + 1, j]];
      const values = corners.map(([r, c]) => grid[r][c]);
      const crossings = [];            // edge e joins corner e to corner e + 1
      for (let e = 0; e < 4; e++) {
        const [v0, v1] = [values[e], values[(e + 1) % 4]];
        if ((v0 >= level) === (v1 >= level)) continue;
        const t = (level - v0) / (v1 - v0);
        const [[r0, c0], [r1, c1]] = [corners[e], corners[(e + 1) % 4]];
        crossings.push([xAt(c0 + t * (c1 - c0)), yAt(r0 + t * (r1 - r0))]);
      }
      if (crossings.length === 2) {
        segments.push(crossings);
      } else if (crossings.length === 4) {
        // A saddle: the square's mean says whether the bottom-left and top-right corners are
        // joined through the middle (then cut off the other two corners) or apart.
        const middle = values.reduce((a, b) => a + b) / 4;
        const [e0, e1, e2, e3] = crossings;
        if ((middle >= level) === (values[0] >= level)) segments.push([e0, e1], [e2, e3]);
        else segments.push([e3, e0], [e1, e2]);
      }
    }
  }
  return segments;
}

function drawContour(ctx, map, grid) {
  ctx.strokeStyle = CONTOUR_COLOUR;
  ctx.lineWidth = 1.5;
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  for (const [[x0, y0], [x1, y1]] of contourSegments(grid, 0.5)) {
    ctx.moveTo(map.x(x0), map.y(y0));
    ctx.lineTo(map.x(x1), map.y(y1));
  }
  ctx.stroke();
  ctx.setLineDash([]);
}

// --- charts --------------------------------------------------------------------------------------
function formatNumber(v) {
  if (v === 0) return '0';
  const size = Math.abs(v);
  return size >= 1e4 || size < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

// series: [{label, colour, points: [[x, y], ...] in x order, dashed}]; options: {xMax, yMin,
// yMax (else from the data), guides: [y, ...] dashed lines, empty: the text with no data}.
// Each pixel column draws at most two points (its lowest and highest), so 10^5 rows stay cheap
// and a spike still shows.
function drawChart(canvas, series, options) {
  const {ctx, width, height} = fitCanvas(canvas);
  const left = 44, right = width - 8, top = 20, bottom = height - 16;
  ctx.font = FONT;
  ctx.strokeStyle = AXIS_COLOUR;
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, right - left, bottom - top);
  const values = series.flatMap(s => s.points.map(p => p[1]));
  if (values.length === 0) {
    ctx.fillStyle = '#888';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(options.empty || 'no updates yet', (left + right) / 2, (top + bottom) / 2);
    return;
  }
  const xMax = Math.max(options.xMax || 1, 1);
  let yMin = options.yMin !== undefined ? options.yMin : values.reduce((a, b) => Math.min(a, b));
  let yMax = options.yMax !== undefined ? options.yMax : values.reduce((a, b) => Math.max(a, b));
  if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const px = x => left + x / xMax * (right - left);
  const py = y => bottom - (y - yMin) / (yMax - yMin) * (bottom - top);

  // The axes' labels: y's range and guides at the left, x's range under the frame.
  ctx.fillStyle = '#555';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const y of [yMin, yMax, ...(options.guides || [])]) {
    ctx.fillText(formatNumber(y), left - 4, py(y));
  }
  ctx.textBaseline = 'top';
  ctx.fillText(`update ${xMax}`, right, bottom + 2);
  ctx.textAlign = 'left';
  ctx.fillText('0', left, bottom + 2);
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  for (const y of options.guides || []) {
    ctx.moveTo(left, py(y));
    ctx.lineTo(right, py(y));
  }
  ctx.stroke();

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, right - left, bottom - top);
  ctx.clip();
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.25;
    ctx.setLineDash(s.dashed ? [4, 3] : []);
    ctx.beginPath();
    let column = null, low = 0, high = 0;
    const flush = () => {
      if (column === null) return;
      ctx.lineTo(column, py(low));
      if (high !== low) ctx.lineTo(column, py(high));
    };
    for (const [x, y] of s.points) {
      const c = Math.round(px(x));
      if (c !== column) {
        flush();
        [column, low, high] = [c, y, y];
      } else {
        [low, high] = [Math.min(low, y), Math.max(high, y)];
      }
    }
    flush();
    ctx.stroke();
  }
  ctx.restore();

  // A tiny legend above the frame: each series' colour, name and latest value.
  let x = left;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  for (const s of series) {
    if (s.points.length === 0) continue;
    const text = `${s.label} ${formatNumber(s.points[s.points.length - 1][1])}`;
    ctx.fillStyle = s.colour;
    ctx.fillRect(x, 9, 12, 2);
    ctx.fillStyle = '#333';
    ctx.fillText(text, x + 15, 10);
    x += 15 + ctx.measureText(text).width + 12;
  }
}

// The rows come from session.update: "d" rows hold D's loss and verdicts, "g" rows G's loss
// and, for the ring and the grid, the mode figures (metrics.mode_metrics on the 512 samples)
// with mode_total, the data set's number of modes then (the data set may have changed since).
// A figure a row lacks is skipped: examples/gan_2d.py's rows have no mode figures at all.
function drawCharts() {
  const s = {dLoss: [], gLoss: [], dReal: [], dFake: [], modes: [], hq: [], kl: []};
  const add = (points, x, y) => { if (Number.isFinite(y)) points.push([x, y]); };
  let modes = state.modes;         // the last total: the chart's label
  for (const row of history) {
    const x = row.update;
    if (row.phase === 'd') {
      add(s.dLoss, x, row.d_loss);
      add(s.dReal, x, row.d_real);
      add(s.dFake, x, row.d_fake);
    } else {
      add(s.gLoss, x, row.g_loss);
      if (row.modes === undefined) continue;
      modes = row.mode_total || state.modes;
      add(s.modes, x, row.modes / modes);
      add(s.hq, x, row.hq);
      add(s.kl, x, row.reverse_kl);
    }
  }
  const xMax = state.updates;
  drawChart($('chart-loss'), [{label: "D's loss", colour: D_COLOUR, points: s.dLoss},
                              {label: "G's loss", colour: G_COLOUR, points: s.gLoss}], {xMax});
  drawChart($('chart-d'), [{label: 'D(x)', colour: REAL_COLOUR, points: s.dReal},
                           {label: 'D(G(z))', colour: FAKE_COLOUR, points: s.dFake}],
            {xMax, yMin: 0, yMax: 1, guides: [0.5]});
  const klMax = s.kl.reduce((top, p) => Math.max(top, p[1]), 1);
  drawChart($('chart-modes'),
            [{label: `modes covered / ${modes}`, colour: MODES_COLOUR, points: s.modes},
             {label: 'HQ share', colour: HQ_COLOUR, points: s.hq},
             {label: 'reverse KL', colour: KL_COLOUR, points: s.kl, dashed: true}],
            {xMax, yMin: 0, yMax: klMax,
             empty: !state.modes ? 'mode metrics: ring and grid only'
               : s.gLoss.length ? 'no mode figures in these rows' : 'no G update yet'});
}

// --- controls ------------------------------------------------------------------------------------
// Each setting's input and its name in the API (settings.Settings).
const SETTINGS = [['data', 'data'], ['loss', 'loss'], ['k', 'k'], ['lr-d', 'lr_d'],
                  ['lr-g', 'lr_g'], ['batch-size', 'batch_size'], ['penalty', 'penalty'],
                  ['gamma', 'gamma']];
const ACTIONS = [['d-update', 'd'], ['g-update', 'g'], ['step', 'step'], ['reset', 'reset']];

const drawing = () => $('data').value === 'drawn';

// Show the server's settings, only when they changed (or `force`): a render while playing must
// not overwrite a number being typed. The data select stays on "drawn" while the user draws.
function syncInputs(force) {
  const settings = JSON.stringify(state.settings);
  if (!force && settings === shownSettings) return;
  shownSettings = settings;
  for (const [id, name] of SETTINGS) {
    if (id === 'data' && drawing() && state.settings.data !== 'drawn') continue;
    $(id).value = String(state.settings[name]);
  }
}

// One setting at a time. A number goes as a number; anything else as typed, so that the
// server's message (settings.py) says what is wrong with it. Refused: the inputs go back.
function changeSetting(changes) {
  return request('/api/settings', changes).then(accepted => {
    if (!accepted && state) syncInputs(true);
    showDrawn();
    return accepted;
  });
}

for (const [id, name] of SETTINGS) {
  $(id).addEventListener('change', () => {
    const raw = $(id).value;
    if (id === 'data') {
      if (raw !== 'drawn') changeSetting({data: raw});
      else if (pending.length > 0) trainOnDrawn();
      else redraw();                   // nothing to train on yet: wait for the clicks
      return;
    }
    if (raw.trim() === '') return;     // an emptied field sends nothing until typed into
    const number = Number(raw);
    changeSetting({[name]: Number.isFinite(number) ? number : raw});
  });
}

// Buttons do nothing while a request is on its way or the run is playing (nothing is queued).
function updateButtons() {
  for (const [id] of ACTIONS) $(id).disabled = playing || inFlight > 0;
  $('play').textContent = playing ? 'Pause' : 'Play';
}

for (const [id, action] of ACTIONS) {
  $(id).addEventListener('click', () => {
    if (playing || inFlight > 0) return;
    act(action);
  });
}

// Drawn data: each click puts a few points round the spot (the server adds a little noise to
// every drawn point as well: session.drawn_data).
$('plane').addEventListener('click', event => {
  if (!drawing() || !state) return;
  const rect = event.currentTarget.getBoundingClientRect();
  const [xmin, xmax, ymin, ymax] = state.bounds;
  const x = xmin + (event.clientX - rect.left) / rect.width * (xmax - xmin);
  const y = ymax - (event.clientY - rect.top) / rect.height * (ymax - ymin);
  const spread = DRAW_SPREAD * (xmax - xmin);
  for (let n = 0; n < DRAW_PER_CLICK; n++) {
    const angle = 2 * Math.PI * Math.random(), r = spread * Math.sqrt(Math.random());
    pending.push([round4(x + r * Math.cos(angle)), round4(y + r * Math.sin(angle))]);
  }
  redraw();
});

const round4 = v => Math.round(v * 1e4) / 1e4;

// After a change to the drawn points: the plane (they are on it), the box and the hint.
function redraw() {
  drawPlane();
  showDrawn();
  showMessage();
}

function trainOnDrawn() {
  changeSetting({data: 'drawn', points: pending}).then(accepted => {
    if (!accepted) return;
    pending = [];                      // they are the real samples now
    redraw();
  });
}

$('use-drawn').addEventListener('click', trainOnDrawn);

$('clear-drawn').addEventListener('click', () => {
  pending = [];
  redraw();
});

function showDrawn() {
  $('drawn-box').hidden = !drawing();
  $('plane').classList.toggle('drawing', drawing());
  $('drawn-count').textContent = pending.length === 0
    ? 'click on the plane to draw points'
    : `${pending.length} points drawn: train on them, or click to add more`;
}

for (const layer of ['heatmap', 'contour', 'real', 'fake', 'arrows', 'latent', 'field']) {
  $(`show-${layer}`).addEventListener('change', drawPlane);
}

window.addEventListener('resize', () => { if (state) render(state); });

// --- play loop -----------------------------------------------------------------------------------
// One step per request, drawn as it comes back, then the next: never two requests at once. The
// loop stops on Pause, on a refused request, and when the server pauses the run (a NaN). A
// replay plays its frames instead (playFrames).
function setPlaying(on) {
  playing = on;
  updateButtons();
  if (playing && !looping) (recording ? playFrames : playNext)();
}

// `looping` stays true until the loop has really stopped, so a quick Pause-Play cannot start a
// second loop beside the first.
function playNext() {
  looping = playing;
  if (!playing) return;
  act('step').then(accepted => {
    if (accepted && !(state && state.paused)) {
      setTimeout(playNext, 0);                       // let the browser paint in between
    } else {
      looping = false;
      setPlaying(false);
    }
  });
}

$('play').addEventListener('click', () => setPlaying(!playing));

// --- the last-step panel -------------------------------------------------------------------------
// session.facts: for each update of the last action, a title and what it did, in words.
// The server's words go in as text, never as HTML.
function drawLastStep() {
  const panel = $('last-step');
  const element = (tag, text) => Object.assign(document.createElement(tag), {textContent: text});
  panel.replaceChildren();
  if (state.last.length === 0) {      // a recording of examples/gan_2d.py keeps no facts
    panel.append(element('p', state.updates === 0 ? 'no update yet'
      : 'no per-update facts in this recording'));
  }
  for (const entry of state.last) {
    const list = element('ul', '');
    list.append(...entry.lines.map(line => element('li', line)));
    panel.append(element('h3', entry.title), list);
  }
}

// --- replay --------------------------------------------------------------------------------------
// export.py's page: the recording {settings, bounds, real, modes, history, frames} in place of
// the server, and not one request. Each frame {label, updates, layers, last} becomes a state
// like the server's (the real samples, the same in every frame, are stored once).
const FRAME_MS = 250;           // a frame every quarter second while the replay plays

function replayState(frame) {
  const {settings, bounds, modes, real} = recording;
  return {settings, bounds, modes, ...frame, layers: {...frame.layers, real}};
}

function showFrame(index) {
  const last = recording.frames.length - 1;
  replayFrame = Math.max(0, Math.min(index, last));
  const frame = recording.frames[replayFrame];
  $('frame-slider').value = replayFrame;
  $('frame-label').textContent = `${frame.label}\nframe ${replayFrame + 1} of ${last + 1}`;
  $('frame-prev').disabled = replayFrame === 0;
  $('frame-next').disabled = replayFrame === last;
  history = recording.history.filter(row => row.update <= frame.updates);  // the charts grow
  render(replayState(frame));
}

// Play from here (from the start if at the end) to the last frame; `looping` as in playNext.
function playFrames() {
  if (replayFrame === recording.frames.length - 1) showFrame(0);
  looping = true;
  const next = () => {
    looping = playing && replayFrame < recording.frames.length - 1;
    if (looping) {
      showFrame(replayFrame + 1);
      setTimeout(next, FRAME_MS);
    } else if (playing) {
      setPlaying(false);
    }
  };
  setTimeout(next, FRAME_MS);
}

function startReplay() {
  recording = window.LAB_REPLAY;
  document.body.classList.add('replay');    // lab.css: the live controls give way (index.html)
  const s = recording.settings;
  $('replay-settings').textContent = [s.data, s.loss, `k ${s.k}`, `lr ${s.lr_d}/${s.lr_g}`,
    `batch ${s.batch_size}`, ...(s.penalty && s.penalty !== 'none'
      ? [`${s.penalty} penalty γ ${s.gamma}`] : [])].join(' · ');
  $('frame-slider').max = recording.frames.length - 1;
  $('frame-slider').addEventListener('input', event => showFrame(Number(event.target.value)));
  $('frame-prev').addEventListener('click', () => showFrame(replayFrame - 1));
  $('frame-next').addEventListener('click', () => showFrame(replayFrame + 1));
  showFrame(0);
}

// --- start ---------------------------------------------------------------------------------------
if (window.LAB_REPLAY) startReplay(); else getState();
