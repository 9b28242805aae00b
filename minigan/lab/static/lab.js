// minigan lab: the page. It asks the lab's server (server.py) for the state of one GAN game,
// draws it, and sends the buttons and settings back. The server does all the training and all
// the numbers (session.py, views.py); this file only draws what it is sent. In a replay
// (export.py's page) the recording in window.LAB_REPLAY stands in for the server.
//
//   palette & words      the colours (from lab.css), the words for D's verdict (D or critic)
//   state & API calls    one request at a time; the client's copy of the history; render()
//   the plane            the layers: heat map, contour, samples, arrows, latent grid, field
//   contour              marching squares for D(x) = 1/2
//   charts               losses, D's verdicts, the modes, the markers of changes
//   controls             buttons, settings, drawn data (by mouse or keyboard)
//   play loop            as many steps a request as the speed says, drawn as they come
//   the last-step panel  what the last updates did, in the server's words
//   replay               a recorded run's frames on a slider, no server
'use strict';

// --- palette & words -----------------------------------------------------------------------------
// The colours are lab.css's (its :root block, the one place they are written; export.py draws
// the GIF from the same block).
const css = getComputedStyle(document.documentElement);
const colour = name => css.getPropertyValue(`--${name}`).trim();
const rgbOf = hex => [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));    // '#rrggbb'
const REAL_COLOUR = colour('real');      // real samples, and D's "real" side of the heat map
const FAKE_COLOUR = colour('fake');      // G's samples, and D's "fake" side
const REAL_TINT = rgbOf(colour('heat-real'));       // the heat map where D(x) = 1
const MIDDLE_TINT = rgbOf(colour('heat-middle'));   // ... where D(x) = 1/2
const FAKE_TINT = rgbOf(colour('heat-fake'));       // ... where D(x) = 0
const CONTOUR_COLOUR = colour('contour');
const ARROW_COLOUR = colour('arrow');
const LATENT_COLOUR = colour('latent');
const FIELD_COLOUR = colour('field');
const DRAWN_COLOUR = colour('drawn');    // drawn points not yet sent, and the drawing cross
const D_COLOUR = colour('d-loss');       // D's loss on the chart
const G_COLOUR = colour('g-loss');       // G's loss
const MODES_COLOUR = colour('modes');
const HQ_COLOUR = colour('hq');
const KL_COLOUR = colour('kl');
const AXIS_COLOUR = colour('axis');
const MARKER_COLOURS = {data: colour('marker-data'), settings: colour('marker-settings'),
                        reset: colour('marker-reset')};
const INK = colour('ink'), FAINT_INK = colour('faint-ink');     // text on the canvases
const FONT = '11px system-ui, sans-serif';

const ARROW_LENGTH = 0.08;      // the longest push arrow, as a fraction of the plane's width
const FIELD_LENGTH = 0.45;      // the longest field arrow, as a fraction of a field cell
const DRAW_PER_CLICK = 8;       // drawn points added by one click ...
const DRAW_SPREAD = 0.02;       // ... within this fraction of the plane's width
const CURSOR_STEPS = 40;        // an arrow key moves the drawing cross 1/40 of the plane

// D's output is a probability's logit in the two BCE games; under wgan and hinge it is a
// critic's score (state.critic), and the page says so: the heat map and the chart show
// sigmoid(score), whose 1/2 is score = 0.
const WORDS = {
  probability: {
    verdict: "D(x) rises on real points and falls on G's samples",
    heatmap: 'D(x): blue real, orange fake',
    contour: 'D(x) = ½, where D cannot tell',
    field: "dD/dx: the slope of D's output",
    verdicts: "D's verdicts: mean D(x) on real, mean D(G(z)) on fake",
    real: 'D(x)', fake: 'D(G(z))', guide: 'D(x) = ½',
    says: percent => `D says real on ${percent} % of the plane`,
  },
  critic: {
    verdict: "the critic's score rises on real points and falls on G's samples",
    heatmap: 'sigmoid(critic score): blue real, orange fake',
    contour: 'critic score = 0 (sigmoid ½)',
    field: "d score/dx: the slope of the critic's score",
    verdicts: "The critic's verdicts: mean sigmoid(critic score) on real, on fake",
    real: 'real', fake: 'fake', guide: 'score = 0',
    says: percent => `the critic scores above 0 on ${percent} % of the plane`,
  },
};
const words = () => WORDS[state && state.critic ? 'critic' : 'probability'];

// --- state & API calls ---------------------------------------------------------------------------
let latest = null;              // the server's last state (or a replay's frame)
let state = null;               // the state drawn: latest, at the last animation frame
let history = [];               // the rows the charts draw: the client's copy of run `run`'s
                                // history, or in a replay the recorded rows up to the frame
let run = null;
let realPoints = [];            // the real samples, sent once per data set ...
let realVersion = null;         // ... whose state.data_version they belong to
let pending = [];               // drawn points, [x, y] in data coordinates, not yet sent
let cursor = null;              // the keyboard's drawing cross, [x, y] in data coordinates
let errorText = null;           // the last request's refusal, shown until a request succeeds
let playing = false;            // the Play button is on
let looping = false;            // the play loop has a step on its way (so never two loops)
let autoRepeat = 1;             // steps a request at the speed "as fast as the server can"
let frames = 0;                 // renders so far
let drawQueued = false;         // a render waits for the next animation frame
let inFlight = 0;               // requests sent or waiting to be sent, not yet answered
let queue = Promise.resolve();  // the requests, one after the other
let shownSettings = '';         // the settings the inputs show, as JSON
let chartMarkers = {};          // per chart: the markers drawn, {update, kind, x} (CSS pixels)

let recording = null;           // a replay's window.LAB_REPLAY, else null
let replayFrame = null;         // the replay's frame shown, an index into recording.frames

// For the browser (Selenium) tests, read only: they wait for requestsInFlight to be 0, and
// compare frames and lastState before and after a click (or a move of the replay's slider).
window.labDebug = Object.freeze({
  get frames() { return frames; },
  get lastState() { return state; },
  get latestState() { return latest; },
  get requestsInFlight() { return inFlight; },
  // Settled: no request on its way, no play loop between two requests, nothing left to draw.
  get busy() { return inFlight > 0 || looping || drawQueued; },
  get replayFrame() { return replayFrame; },
  get markers() { return chartMarkers; },
  get playRepeat() { return playRepeat(); },
});

const $ = id => document.getElementById(id);

// The server's token, written into this page when it was served: every POST carries it back
// (X-Lab-Token), with Content-Type application/json, or the server refuses it. Pages of other
// sites cannot read it (server.py says why). Empty in a replay, which sends nothing.
const TOKEN = document.querySelector('meta[name="lab-token"]').content;

// The buttons' and settings' requests go out one at a time, in order (`queue`). Play's go out
// at once, beside the queue (`beside`), two at a time (the play loop): an answer carries the
// history rows from the number of rows held when it was sent (`since`), so two at once may
// bring the same rows (receive() puts them in place), and the later state may come first
// (receive() drops the earlier). `fields` undefined: GET the state; else POST `fields` to
// `path`. Resolves to the answer if accepted, else to false.
function request(path, fields, beside = false) {
  inFlight += 1;
  updateButtons();
  const send = () => {
    const since = history.length;
    if (fields === undefined) return fetch(`${path}?since=${since}`).then(readAnswer);
    return fetch(path, {method: 'POST',
                        headers: {'Content-Type': 'application/json', 'X-Lab-Token': TOKEN},
                        body: JSON.stringify({...fields, since})}).then(readAnswer);
  };
  const done = (beside ? Promise.resolve() : queue).then(send).then(
    answer => { errorText = null; receive(answer); return answer; },
    error => { errorText = describe(error); showMessage(); return false; },
  ).finally(() => { inFlight -= 1; updateButtons(); });
  if (!beside) queue = done.catch(() => {});   // a bug in receive() must not stop the others
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
// `picture`: the layers wanted back and the heat map's grid (picture() below); none: all.
const act = (action, repeat = 1, picture = {}) => request('/api/act', {action, repeat,
                                                                      ...picture});

// Keep the history: rows from history_from on replace what we hold from there. A new run
// (Reset) starts an empty history; if we missed its first rows, ask again from 0. The real
// samples come once per data set (state.data_version): kept here, put back into each state
// drawn. The state is drawn at the next animation frame, so the play loop's next request is
// on its way while this one is drawn, and a state the screen could not show is never drawn.
function receive(answer) {
  if (latest && !recording && (answer.run < latest.run
                               || (answer.run === latest.run && answer.updates < latest.updates))) {
    return;                            // overtaken: a later state came first (Play's requests)
  }
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
  if (answer.layers.real) [realPoints, realVersion] = [answer.layers.real, answer.data_version];
  else if (answer.data_version !== realVersion && !playing) getState();   // new data: its points
  latest = answer;
  if (!drawQueued) {
    drawQueued = true;
    requestAnimationFrame(() => { drawQueued = false; render(withRealPoints(latest)); });
  }
}

function withRealPoints(answer) {
  const real = answer.layers.real || (answer.data_version === realVersion ? realPoints : []);
  return {...answer, layers: {...answer.layers, real}};
}

// Draw a state: the server's, or one a replay makes of a frame (replayState). Everything drawn
// comes from `shown` and `history`, so live and replay pages draw the same way.
function render(shown) {
  state = shown;
  frames += 1;
  // A recording of examples/gan_2d.py counts only the updates, not D's and G's apart.
  $('step-counter').textContent = `update ${state.updates}` + (state.d_updates === undefined
    ? '' : ` · D updates ${state.d_updates} · G updates ${state.g_updates}`);
  showWords();
  drawPlane();
  drawCharts();
  listEvents();
  drawLastStep();
  showMessage();
  if (recording) return;             // a replay has no inputs, no drawing and no run to pause
  syncInputs(false);
  showDrawn();
}

// The words that name D's verdict: D(x), or the critic's score (WORDS).
function showWords() {
  const w = words();
  for (const [id, text] of [['hint-verdict', w.verdict], ['label-heatmap', w.heatmap],
                            ['label-contour', w.contour], ['label-field', w.field],
                            ['verdicts-title', w.verdicts]]) {
    if ($(id).textContent !== text) $(id).textContent = text;
  }
}

// One line: an error; else why the run is paused; else the drawing hint; else the notice.
function showMessage() {
  const message = $('message');
  let text = '', kind = '';
  if (errorText) {
    [text, kind] = [errorText, 'error'];
  } else if (latest && latest.paused) {
    [text, kind] = [`Paused: ${latest.paused}`, 'error'];
  } else if (drawing() && pending.length === 0 && latest && latest.settings.data !== 'drawn') {
    [text, kind] = ["click on the plane to draw points (or Tab to it, move the cross with the "
                    + "arrow keys, press Enter), then 'Train on drawn points'", 'notice'];
  } else if (latest && latest.notice) {
    [text, kind] = [latest.notice, 'notice'];
  }
  if (message.textContent !== text) message.textContent = text;
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

// A layer is drawn if its box is ticked and the state has it (Play asks only for those shown:
// a layer ticked while paused is fetched then, see the controls).
function drawPlane() {
  if (!state) return;
  const {ctx, width} = fitCanvas($('plane'));
  const map = planeMap(width), layers = state.layers;
  const has = layer => shown(layer) && layers[layer] !== undefined;
  // Back to front: the heat map (views.heatmap), then the lines, then the samples on top.
  if (has('heatmap')) drawHeatmap(ctx, layers.heatmap, width);
  if (has('latent')) drawLatent(ctx, map, layers.latent);
  if (has('field')) {              // views.input_gradient_field: dD/dx on a 16 x 16 grid
    const cell = width / Math.sqrt(layers.field.points.length);
    drawArrows(ctx, map, layers.field.points, layers.field.vectors, FIELD_LENGTH * cell,
               FIELD_COLOUR);
  }
  if (shown('contour') && layers.heatmap) drawContour(ctx, map, layers.heatmap);
  if (has('real')) drawDots(ctx, map, layers.real, REAL_COLOUR, 1.8);
  const outside = outsideFrame(layers.fake || []);
  if (has('fake')) {
    drawDots(ctx, map, layers.fake, FAKE_COLOUR, 2.2);
    drawAtTheEdge(ctx, map, outside);
  }
  if (has('arrows')) {             // views.generator_push: -dL_G/dx at each fake sample x
    drawArrows(ctx, map, layers.fake, layers.arrows.vectors, ARROW_LENGTH * width,
               ARROW_COLOUR);
  }
  drawDots(ctx, map, pending, DRAWN_COLOUR, 3, true);
  if (drawing() && cursor && document.activeElement === $('plane')) drawCursor(ctx, map);
  drawCorners(ctx, width);
  $('fake-outside').textContent = outside.length ? `(${outside.length} outside the frame)` : '';
  $('arrows-longest').textContent = layers.arrows
    ? `(longest ${formatNumber(layers.arrows.longest)})` : '';
  $('field-longest').textContent = layers.field
    ? `(longest ${formatNumber(layers.field.longest)})` : '';
  describePlane(layers, outside.length);
}

// G's samples outside the frame (the frame is fixed around the real data, so a sample G
// throws far off would vanish): counted, and drawn hollow at the edge, where they left.
function outsideFrame(points) {
  const [xmin, xmax, ymin, ymax] = state.bounds;
  return points.filter(([x, y]) => !(x >= xmin && x <= xmax && y >= ymin && y <= ymax));
}

function drawAtTheEdge(ctx, map, points) {
  const radius = 3, clamp = v => Math.min(Math.max(v, radius + 1), map.size - radius - 1);
  ctx.strokeStyle = FAKE_COLOUR;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const [x, y] of points) {
    const px = clamp(map.x(x)), py = clamp(map.y(y));
    ctx.moveTo(px + radius, py);
    ctx.arc(px, py, radius, 0, 2 * Math.PI);
  }
  ctx.stroke();
}

// The keyboard's drawing cross (controls: the arrow keys move it, Enter adds points there).
function drawCursor(ctx, map) {
  const x = map.x(cursor[0]), y = map.y(cursor[1]);
  ctx.strokeStyle = DRAWN_COLOUR;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(x - 8, y);
  ctx.lineTo(x + 8, y);
  ctx.moveTo(x, y - 8);
  ctx.lineTo(x, y + 8);
  ctx.stroke();
}

// The plane in words, under it and as the canvas's name (for a screen reader): how many of G's
// samples there are and how many left the frame, and how much of the plane D calls real.
function describePlane(layers, outside) {
  const fake = layers.fake || [], heat = layers.heatmap || [];
  let cells = 0, real = 0;
  for (const row of heat) {
    for (const d of row) {
      cells += 1;
      if (d > 0.5) real += 1;
    }
  }
  let text = `${fake.length} generated samples, ${outside} outside the frame`;
  if (cells > 0) text += `; ${words().says(Math.round(100 * real / cells))}`;
  if (!recording && drawing()) {
    text += `. Drawing: ${pending.length} points; click, or move the cross with the arrow keys `
      + 'and press Enter, to add points';
  }
  if ($('plane-summary').textContent !== text) $('plane-summary').textContent = text;
  $('plane').setAttribute('aria-label', `The plane: ${text}`);
}

// views.heatmap: sigmoid(D(x)) at the cell centres (48 x 48, or coarser while playing), row 0
// at the bottom. One pixel per cell, scaled up smoothly: the image's top row is the grid's last.
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
  ctx.fillStyle = INK;
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

// series: [{label, colour, points: [[x, y], ...] in x order, dashed}]; options: {name (for
// the canvas's text), xMax, yMin, yMax (else from the data), guides: [{y, label}] dashed lines,
// markers: [{update, kind, text}] (state.events), empty: the text with no data}. Each pixel
// column draws at most two points (its lowest and highest), so 10^5 rows stay cheap and a spike
// still shows.
function drawChart(canvas, series, options) {
  const {ctx, width, height} = fitCanvas(canvas);
  ctx.font = FONT;
  const left = 44, right = width - 8, bottom = height - 16;
  const legend = legendEntries(ctx, series, left, right);
  const top = legend.length ? legend[legend.length - 1].y + 10 : 20;     // under the legend
  ctx.strokeStyle = AXIS_COLOUR;
  ctx.lineWidth = 1;
  ctx.strokeRect(left + 0.5, top + 0.5, right - left, bottom - top);
  describeChart(canvas, series, options);
  const xMax = Math.max(options.xMax || 1, 1);
  const px = x => left + x / xMax * (right - left);
  drawMarkers(ctx, canvas.id, options.markers || [], px, xMax, top, bottom);
  const values = series.flatMap(s => s.points.map(p => p[1]));
  if (values.length === 0) {
    ctx.fillStyle = FAINT_INK;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(options.empty || 'no updates yet', (left + right) / 2, (top + bottom) / 2);
    return;
  }
  let yMin = options.yMin !== undefined ? options.yMin : values.reduce((a, b) => Math.min(a, b));
  let yMax = options.yMax !== undefined ? options.yMax : values.reduce((a, b) => Math.max(a, b));
  if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const py = y => bottom - (y - yMin) / (yMax - yMin) * (bottom - top);

  // The axes' labels: y's range at the left, x's range under the frame; each guide's label at
  // its right end.
  const guides = options.guides || [];
  ctx.fillStyle = INK;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const y of [yMin, yMax]) ctx.fillText(formatNumber(y), left - 4, py(y));
  ctx.textBaseline = 'bottom';
  for (const {y, label} of guides) ctx.fillText(label, right - 2, py(y) - 1);
  ctx.textBaseline = 'top';
  ctx.fillText(`update ${xMax}`, right, bottom + 2);
  ctx.textAlign = 'left';
  ctx.fillText('0', left, bottom + 2);
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  for (const {y} of guides) {
    ctx.moveTo(left, py(y));
    ctx.lineTo(right, py(y));
  }
  ctx.stroke();
  ctx.setLineDash([]);

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
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  for (const {colour, text, x, y} of legend) {
    ctx.fillStyle = colour;
    ctx.fillRect(x, y - 1, 12, 2);
    ctx.fillStyle = INK;
    ctx.fillText(text, x + 15, y);
  }
}

// Where each series' legend entry goes: in a row above the frame, on as many rows as the
// chart's width needs ({colour, text, x, y}).
const LEGEND_ROW = 13;

function legendEntries(ctx, series, left, right) {
  const entries = [];
  let x = left, y = 10;
  for (const s of series) {
    if (s.points.length === 0) continue;
    const text = `${s.label} ${formatNumber(s.points[s.points.length - 1][1])}`;
    const width = 15 + ctx.measureText(text).width;
    if (x > left && x + width > right) [x, y] = [left, y + LEGEND_ROW];
    entries.push({colour: s.colour, text, x, y});
    x += width + 12;
  }
  return entries;
}

// The markers (state.events): a dashed line at each change of data or settings, and at 0
// after a reset; kept in chartMarkers (labDebug.markers) with their x in CSS pixels.
function drawMarkers(ctx, id, markers, px, xMax, top, bottom) {
  chartMarkers[id] = [];
  ctx.save();
  ctx.lineWidth = 1.5;
  ctx.setLineDash([4, 3]);
  for (const {update, kind} of markers) {
    if (update < 0 || update > xMax) continue;
    const x = Math.round(px(update)) + 0.5;
    ctx.strokeStyle = MARKER_COLOURS[kind] || AXIS_COLOUR;
    ctx.beginPath();
    ctx.moveTo(x, top + 1);
    ctx.lineTo(x, bottom);
    ctx.stroke();
    chartMarkers[id].push({update, kind, x});
  }
  ctx.restore();
}

// A chart in words, the canvas's name (for a screen reader): each series' latest value, and
// the markers.
function describeChart(canvas, series, options) {
  const latestValues = series.filter(s => s.points.length > 0)
    .map(s => `${s.label} ${formatNumber(s.points[s.points.length - 1][1])}`);
  const markers = (options.markers || []).map(m => `update ${m.update}: ${m.text}`);
  const text = `${options.name}, over ${options.xMax || 0} updates: `
    + (latestValues.length ? `latest ${latestValues.join(', ')}`
      : options.empty || 'no updates yet')
    + (markers.length ? `; markers at ${markers.join('; ')}` : '');
  canvas.setAttribute('aria-label', text);
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
  const xMax = state.updates, w = words();
  const markers = (state.events || []).filter(e => e.update <= xMax);
  drawChart($('chart-loss'), [{label: "D's loss", colour: D_COLOUR, points: s.dLoss},
                              {label: "G's loss", colour: G_COLOUR, points: s.gLoss}],
            {name: 'Losses', xMax, markers});
  drawChart($('chart-d'), [{label: w.real, colour: REAL_COLOUR, points: s.dReal},
                           {label: w.fake, colour: FAKE_COLOUR, points: s.dFake}],
            {name: w.verdicts, xMax, yMin: 0, yMax: 1, guides: [{y: 0.5, label: w.guide}],
             markers});
  // The mode figures mean something only where the data has known modes (the ring, the
  // grid): elsewhere the chart gives way to a line that says why it is not there.
  const hasModes = Boolean(state.modes);
  $('chart-modes').hidden = $('modes-note').hidden = !hasModes;
  $('modes-none').hidden = hasModes;
  if (!hasModes) return;
  const klMax = s.kl.reduce((top, p) => Math.max(top, p[1]), 1);
  drawChart($('chart-modes'),
            [{label: `modes covered / ${modes}`, colour: MODES_COLOUR, points: s.modes},
             {label: 'HQ share', colour: HQ_COLOUR, points: s.hq},
             {label: 'reverse KL', colour: KL_COLOUR, points: s.kl, dashed: true}],
            {name: "Modes of G's 512 samples", xMax, yMin: 0, yMax: klMax, markers,
             empty: s.gLoss.length ? 'no mode figures in these rows' : 'no G update yet'});
}

// The markers in words, under the charts: the latest few changes.
const EVENTS_LISTED = 6;

function listEvents() {
  const list = $('events'), events = (state.events || []).filter(e => e.update <= state.updates);
  const key = JSON.stringify(events.slice(-EVENTS_LISTED));
  if (list.dataset.shown === key) return;
  list.dataset.shown = key;
  list.replaceChildren(...events.slice(-EVENTS_LISTED).map(e => {
    const item = document.createElement('li');
    const swatch = Object.assign(document.createElement('span'),
                                 {className: `swatch marker-${e.kind}`});
    item.append(swatch, ` update ${e.update}: ${e.text}`);
    return item;
  }));
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
  const settings = JSON.stringify(latest.settings);
  if (!force && settings === shownSettings) return;
  shownSettings = settings;
  for (const [id, name] of SETTINGS) {
    if (id === 'data' && drawing() && latest.settings.data !== 'drawn') continue;
    $(id).value = String(latest.settings[name]);
  }
}

// One setting at a time. A number goes as a number; anything else as typed, so that the
// server's message (settings.py) says what is wrong with it. Refused: the inputs go back.
function changeSetting(changes) {
  return request('/api/settings', changes).then(accepted => {
    if (!accepted && latest) syncInputs(true);
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

// The buttons cannot act while the run plays. They say so with aria-disabled, not disabled: a
// disabled button drops the keyboard's focus to the page, and the next key press would go
// nowhere. Each press is one request, queued after those on their way (a few at most).
const MAX_WAITING = 4;

function updateButtons() {
  for (const [id] of ACTIONS) $(id).setAttribute('aria-disabled', String(playing));
  $('play').textContent = playing ? 'Pause' : 'Play';
}

for (const [id, action] of ACTIONS) {
  $(id).addEventListener('click', () => {
    if (playing || inFlight >= MAX_WAITING) return;
    if (action === 'reset') act('reset');         // a new game: the whole picture
    else act(action, 1, picture(false));
  });
}

// What an update asks to have drawn back (server.py's act): G's samples and the heat map, the
// layers ticked, and the real samples only when the data set is new to the page; while
// playing, the heat map on a coarser grid (Pause fetches the full one).
const PLAY_HEATMAP_CELLS = 32;

function picture(coarse) {
  const layers = ['fake', 'heatmap'];
  if (!latest || latest.data_version !== realVersion) layers.push('real');
  for (const layer of ['arrows', 'latent', 'field']) if (shown(layer)) layers.push(layer);
  return coarse ? {layers, heatmap_cells: PLAY_HEATMAP_CELLS} : {layers};
}

// Drawn data: each click puts a few points round the spot (the server adds a little noise to
// every drawn point as well: session.drawn_data). The keyboard does the same on the plane: the
// arrow keys move a cross, Enter (or Space) adds points there.
function addPoints(x, y) {
  const [xmin, xmax] = state.bounds;
  const spread = DRAW_SPREAD * (xmax - xmin);
  for (let n = 0; n < DRAW_PER_CLICK; n++) {
    const angle = 2 * Math.PI * Math.random(), r = spread * Math.sqrt(Math.random());
    pending.push([round4(x + r * Math.cos(angle)), round4(y + r * Math.sin(angle))]);
  }
  redraw();
}

$('plane').addEventListener('click', event => {
  if (!drawing() || !state) return;
  const rect = event.currentTarget.getBoundingClientRect();
  const [xmin, xmax, ymin, ymax] = state.bounds;
  addPoints(xmin + (event.clientX - rect.left) / rect.width * (xmax - xmin),
            ymax - (event.clientY - rect.top) / rect.height * (ymax - ymin));
});

const CURSOR_KEYS = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1]};

$('plane').addEventListener('keydown', event => {
  if (!drawing() || !state) return;
  const [xmin, xmax, ymin, ymax] = state.bounds;
  cursor = cursor || [(xmin + xmax) / 2, (ymin + ymax) / 2];
  if (CURSOR_KEYS[event.key]) {
    const [dx, dy] = CURSOR_KEYS[event.key], step = (xmax - xmin) / CURSOR_STEPS;
    cursor = [Math.min(Math.max(cursor[0] + dx * step, xmin), xmax),
              Math.min(Math.max(cursor[1] + dy * step, ymin), ymax)];
    redraw();
  } else if (event.key === 'Enter' || event.key === ' ') {
    addPoints(...cursor);
  } else {
    return;
  }
  event.preventDefault();              // no scrolling by the arrow keys or Space
});

for (const type of ['focus', 'blur']) $('plane').addEventListener(type, () => drawPlane());

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

// The plane takes the keyboard only while drawing (tabindex 0), and then says how.
function showDrawn() {
  $('drawn-box').hidden = !drawing();
  $('plane').classList.toggle('drawing', drawing());
  if (drawing()) $('plane').tabIndex = 0;
  else $('plane').removeAttribute('tabindex');
  const text = pending.length === 0 ? 'click on the plane to draw points'
    : `${pending.length} points drawn: train on them, or click to add more`;
  if ($('drawn-count').textContent !== text) $('drawn-count').textContent = text;
}

// A layer ticked that the last state lacks (Play and the buttons ask only for those shown) is
// fetched, unless the next play request brings it anyway.
for (const layer of ['heatmap', 'contour', 'real', 'fake', 'arrows', 'latent', 'field']) {
  $(`show-${layer}`).addEventListener('change', () => {
    const missing = state && !recording && shown(layer) && state.layers[layer] === undefined
      && layer !== 'contour';
    if (missing && !playing) getState(); else drawPlane();
  });
}

window.addEventListener('resize', () => { if (state) render(state); });

// --- play loop -----------------------------------------------------------------------------------
// Each request asks for `repeat` steps (the speed control) and a light picture (picture(true)).
// Two are on their way at once (PLAY_DEPTH): while the page reads and draws one answer (at the
// next animation frame, receive), the server already works on the next request, so it never
// waits for the page. The loop stops on Pause, on a refused request, and when the server pauses
// the run (a NaN: the other request, "playing", is then answered without updates); once
// stopped, one more request fetches the full picture (the heat map on its fine grid). A replay
// plays its frames instead (playFrames).
//
// "As fast as the server can" asks for as many steps as the server does in about AUTO_MS (it
// says how long a request's updates took, took_ms), within what one request may ask for
// (state.max_repeat, settings.py's bound on a request's work): about 30 pictures a second.
const AUTO_MS = 30;

function playRepeat() {
  const speed = $('speed').value, most = latest ? latest.max_repeat : 1;
  return Math.max(1, Math.min(speed === 'auto' ? autoRepeat : Number(speed), most));
}

function tuneSpeed(repeat, tookMs) {
  if (!(tookMs > 0)) return;
  const wanted = Math.round(repeat * AUTO_MS / tookMs);    // at most x2 or /2 at a time
  autoRepeat = Math.max(1, Math.ceil(repeat / 2), Math.min(wanted, 2 * repeat));
}

function setPlaying(on) {
  playing = on;
  updateButtons();
  if (playing && !looping) (recording ? playFrames : playNext)();
}

// `looping` stays true until the loop has really stopped (no request of its own on the way),
// so a quick Pause-Play cannot start a second loop beside the first.
const PLAY_DEPTH = 2;           // Play's requests on their way at once
let playRequests = 0;

function playNext() {
  while (playing && playRequests < PLAY_DEPTH) {
    const repeat = playRepeat();
    playRequests += 1;
    const fields = {action: 'step', repeat, playing: true, ...picture(true)};
    request('/api/act', fields, true).then(answer => {
      playRequests -= 1;
      if (answer) tuneSpeed(repeat, answer.took_ms);
      if (!answer || answer.paused) setPlaying(false);
      playNext();
    });
  }
  looping = playRequests > 0;
  if (!looping && latest && !latest.paused && !errorText) getState();   // paused: in full
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
  const {settings, bounds, modes, real, critic, events} = recording;
  return {settings, bounds, modes, critic, events, ...frame, layers: {...frame.layers, real}};
}

function showFrame(index) {
  const last = recording.frames.length - 1;
  replayFrame = Math.max(0, Math.min(index, last));
  const frame = recording.frames[replayFrame];
  $('frame-slider').value = replayFrame;
  $('frame-label').textContent = `${frame.label}\nframe ${replayFrame + 1} of ${last + 1}`;
  // aria-disabled, not disabled: the button keeps the keyboard's focus (see updateButtons).
  $('frame-prev').setAttribute('aria-disabled', String(replayFrame === 0));
  $('frame-next').setAttribute('aria-disabled', String(replayFrame === last));
  history = recording.history.filter(row => row.update <= frame.updates);  // the charts grow
  latest = replayState(frame);
  render(latest);
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
