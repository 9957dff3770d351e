// `--ab DIR`: compares two ipc-streams builds on the same lanes in one run. Per round and job, build A
// (DIR) and build B (the build under test) run back to back, A first in even rounds and B first in
// odd ones, so neither build always gets the warmer or the quieter slot. The report gives per lane and
// mode the median over rounds of rate(B)/rate(A), and each round's ratio; and the same ratio of CPU
// time per message (server + client), which other work on a shared machine disturbs less than rates.
import { runJob } from "./job.mjs";
import { median } from "./report.mjs";

/** The lanes worth comparing: those with an ipc-streams peer on at least one end. */
export function abLanes(lanes, peers) {
  return lanes.filter((lane) =>
    [lane.client, lane.server].some((id) => peers.get(id).implementation === "ipc-streams"),
  );
}

/**
 * Runs every lane × mode with both builds for `options.rounds` rounds. `builds` is
 * `{ A: { dir, peers }, B: { dir, peers } }`; `network` is `{ transport, tls }` for runJob (Unix
 * sockets when absent). Returns `{ runs, markdown }`.
 */
export async function abCompare({ root, lanes, builds, options, log, network = {} }) {
  const jobs = lanes.flatMap((lane) =>
    options.modes.filter((mode) => lane.modes?.includes(mode) ?? true).map((mode) => ({ lane, mode })),
  );
  const runs = {};
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? jobs : [...jobs].reverse();
    const names = round % 2 === 0 ? ["A", "B"] : ["B", "A"];
    for (const { lane, mode } of order) {
      const pair = {};
      for (const name of names) {
        const { peers } = builds[name];
        const missing = peers.get(lane.client).missing ?? peers.get(lane.server).missing;
        try {
          if (missing) throw new Error(`missing: ${missing}`);
          const result = await runJob({
            client: peers.get(lane.client),
            server: peers.get(lane.server),
            mode,
            warmup: options.warmup,
            duration: options.duration,
            cwd: root,
            ...network,
          });
          pair[name] = { rate: result.rate, cpuUs: result.serverCpuUs + result.clientCpuUs };
        } catch (error) {
          pair[name] = { error: error.message.split("\n")[0] };
        }
      }
      runs[lane.id] ??= {};
      runs[lane.id][mode] ??= [];
      runs[lane.id][mode][round] = pair;
      const show = (run) => (run.rate ? `${Math.round(run.rate).toLocaleString("en-US")}/s` : `FAILED ${run.error}`);
      const ratio = pair.A.rate && pair.B.rate ? (pair.B.rate / pair.A.rate).toFixed(3) : "–";
      log(
        `round ${round + 1}/${options.rounds} ${lane.id.padEnd(24)} ${mode.padEnd(11)} ` +
          `A ${show(pair.A)}  B ${show(pair.B)}  B/A ${ratio}`,
      );
    }
  }
  return { runs, markdown: abTable(jobs, runs) };
}

const kRate = (value) => (value === undefined ? "–" : `${(value / 1000).toFixed(1)} k`);

function abTable(jobs, runs) {
  const out = [
    "| lane (client → server) | mode | A median /s | B median /s | B/A median | B/A per round | spread | CPU/msg B/A |",
    "|---|---|---:|---:|---:|---|---:|---:|",
  ];
  for (const { lane, mode } of jobs) {
    const rounds = runs[lane.id]?.[mode] ?? [];
    const ratiosOf = (key) =>
      rounds.map((pair) => (pair.A[key] && pair.B[key] ? pair.B[key] / pair.A[key] : undefined));
    const ratios = ratiosOf("rate");
    const cpu = median(ratiosOf("cpuUs"));
    const valid = ratios.filter((ratio) => ratio !== undefined);
    const errors = rounds.flatMap((pair) => [pair.A.error, pair.B.error]).filter(Boolean);
    const perRound = ratios.map((ratio) => (ratio === undefined ? "failed" : ratio.toFixed(2))).join(", ");
    const spread = valid.length ? `${Math.min(...valid).toFixed(2)}–${Math.max(...valid).toFixed(2)}` : "–";
    const note = errors.length
      ? ` (${errors.length} runs failed: ${errors[0].replaceAll("|", "\\|").slice(0, 120)})`
      : "";
    const medianOf = (name) => median(rounds.map((pair) => pair[name].rate));
    out.push(
      `| \`${lane.id}\`${note} | ${mode} | ${kRate(medianOf("A"))} | ${kRate(medianOf("B"))} | ` +
        `${valid.length ? `**${median(valid).toFixed(2)}×**` : "–"} | ${perRound} | ${spread} | ` +
        `${cpu === undefined ? "–" : `${cpu.toFixed(2)}×`} |`,
    );
  }
  return out.join("\n");
}
