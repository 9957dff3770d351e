// The SVG chart of a run's ratios to node-ipc 14: per transport and target, one horizontal bar per
// ipc-streams runtime, drawn from 1× (node-ipc 14) to the median ratio on a log axis, with the
// target marked. Green where the target is met, red where not, grey without a figure. Plain SVG
// text, built from the verdicts that report.mjs and scale.mjs compute.
import { TRANSPORT_TITLES } from "./transport.mjs";

const WIDTH = 860;
const LABEL_X = 16;
const PLOT_LEFT = 200;
const PLOT_RIGHT = 690;
const ROW = 17;
const HEADER = 24;
/** The axis: 1/8× to 32×, log 2. */
const MIN_LOG = -3;
const MAX_LOG = 5;
const COLORS = { met: "#2e7d32", "not met": "#c62828", none: "#9e9e9e" };
const ORDER = ["ips-node20", "ips-node22", "ips-deno", "ips-bun"];

const x = (value) => {
  const log = Math.min(MAX_LOG, Math.max(MIN_LOG, Math.log2(value)));
  return PLOT_LEFT + ((log - MIN_LOG) / (MAX_LOG - MIN_LOG)) * (PLOT_RIGHT - PLOT_LEFT);
};
const xmlText = (text) => String(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const round = (value) => Math.round(value * 10) / 10;

/**
 * `groups` is `[{ transport, verdicts }]` (verdicts of report.mjs and scale.mjs); `peers` labels the
 * runtimes; `caption` says which run it is. Returns the SVG document as a string.
 */
export function ratioChart({ groups, peers, caption }) {
  const label = (verdict) =>
    peers.get(verdict.runtime)?.label.replace("ipc-streams ", "").replace(/[()]/g, "") ?? verdict.runtime;
  const body = [];
  let y = 86;
  body.push(...axis(y - 4, true));
  y += 22;
  for (const { transport, verdicts } of groups) {
    const charted = verdicts.filter((verdict) => verdict.metric !== "scale-refused");
    if (charted.length === 0) continue;
    body.push(
      `<text x="${LABEL_X}" y="${y}" font-size="15" font-weight="bold">${xmlText(TRANSPORT_TITLES[transport])}</text>`,
    );
    y += 8;
    const metrics = [...new Set(charted.map((verdict) => verdict.metric))];
    for (const metric of metrics) {
      const rows = charted
        .filter((verdict) => verdict.metric === metric)
        .sort((a, b) => ORDER.indexOf(a.runtime) - ORDER.indexOf(b.runtime));
      const first = rows[0];
      y += HEADER;
      const better = first.higher ? "higher is better" : "lower is better";
      body.push(
        `<text x="${LABEL_X}" y="${y - 6}" font-size="13" font-weight="bold">${xmlText(first.title)}` +
          ` <tspan font-weight="normal" fill="#555">(${better}; target ${first.higher ? "≥" : "≤"} the tick)</tspan></text>`,
      );
      const top = y;
      const bars = [];
      for (const verdict of rows) {
        const middle = y + ROW / 2;
        bars.push(`<text x="${LABEL_X + 12}" y="${middle + 4}" font-size="12">${xmlText(label(verdict))}</text>`);
        const color = COLORS[verdict.status] ?? COLORS.none;
        if (verdict.value !== undefined && verdict.value > 0) {
          const from = Math.min(x(1), x(verdict.value));
          const to = Math.max(x(1), x(verdict.value));
          bars.push(
            `<rect x="${round(from)}" y="${middle - 5}" width="${round(Math.max(1, to - from))}" height="10" fill="${color}"/>`,
          );
        }
        const tick = x(verdict.target);
        bars.push(
          `<line x1="${round(tick)}" y1="${middle - 8}" x2="${round(tick)}" y2="${middle + 8}" stroke="#000" stroke-width="2"/>`,
        );
        const figure = verdict.value === undefined ? "no figure" : `${verdict.value.toFixed(2)}×`;
        bars.push(
          `<text x="${PLOT_RIGHT + 10}" y="${middle + 4}" font-size="12" fill="${color}">${xmlText(figure)} ` +
            `(${verdict.higher ? "≥" : "≤"} ${verdict.target}×) ${xmlText(verdict.status)}</text>`,
        );
        y += ROW;
      }
      // Light lines at every power of two, and the 1× line: node-ipc 14.
      for (let log = MIN_LOG + 1; log < MAX_LOG; log++) {
        if (log === 0) continue;
        const at = round(x(2 ** log));
        body.push(`<line x1="${at}" y1="${top}" x2="${at}" y2="${y}" stroke="#e0e0e0"/>`);
      }
      body.push(
        ...bars,
        `<line x1="${round(x(1))}" y1="${top}" x2="${round(x(1))}" y2="${y}" stroke="#444" stroke-dasharray="3,2"/>`,
      );
    }
    // Refused connects are a count, not a ratio: one line of text.
    const refused = verdicts
      .filter((verdict) => verdict.metric === "scale-refused")
      .sort((a, b) => ORDER.indexOf(a.runtime) - ORDER.indexOf(b.runtime));
    if (refused.length) {
      y += 20;
      const parts = refused.map(
        (verdict) =>
          `<tspan fill="${COLORS[verdict.status] ?? COLORS.none}">${xmlText(label(verdict))}: ${verdict.value ?? "–"}</tspan>`,
      );
      body.push(
        `<text x="${LABEL_X}" y="${y}" font-size="12"><tspan font-weight="bold">scale: refused connects</tspan> ` +
          `(burst of 1,000; target 0): ${parts.join(", ")}</text>`,
      );
    }
    y += 26;
  }
  body.push(...axis(y, false));
  const height = y + 50;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${LABEL_X}" y="24" font-size="16" font-weight="bold">ipc-streams against node-ipc 14: targets of issue 17</text>`,
    ...wrap(caption, 130).map(
      (line, index) => `<text x="${LABEL_X}" y="${42 + index * 14}" font-size="11" fill="#555">${xmlText(line)}</text>`,
    ),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** The ratio axis: ticks and labels at every power of two, above (`top`) or below the line at `y`. */
function axis(y, top) {
  const out = [`<line x1="${PLOT_LEFT}" y1="${y}" x2="${PLOT_RIGHT}" y2="${y}" stroke="#444"/>`];
  for (let log = MIN_LOG; log <= MAX_LOG; log++) {
    const value = 2 ** log;
    const at = round(x(value));
    out.push(`<line x1="${at}" y1="${top ? y : y - 6}" x2="${at}" y2="${top ? y + 6 : y}" stroke="#444"/>`);
    const text = value < 1 ? `1/${1 / value}` : `${value}`;
    out.push(`<text x="${at}" y="${top ? y - 5 : y + 14}" font-size="11" text-anchor="middle">${text}×</text>`);
  }
  if (!top) {
    out.push(
      `<text x="${PLOT_LEFT}" y="${y + 32}" font-size="11" fill="#555">× node-ipc 14 (log scale; the dashed line is node-ipc 14 → node-ipc 14 in the same run; bars are medians over rounds)</text>`,
    );
  }
  return out;
}

/** Splits `text` into lines of at most `width` characters, at spaces (two lines at most). */
function wrap(text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.slice(0, 2);
}
