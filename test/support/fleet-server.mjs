// One game server of a test fleet: a real ModHost (its own process) that joins the fleet and
// answers commands on stdin, one JSON line each, with one JSON line on stdout:
//   {"id":1,"cmd":"emit","n":50,"player":"p"} -> {"id":1,"ok":N,"failed":N,"versions":{"1.0.0":N}}
//   {"id":2,"cmd":"state","mod":"counter"}      -> {"id":2,"state":...}
//   {"id":3,"cmd":"mods"}                        -> {"id":3,"mods":[...]}
//   {"id":4,"cmd":"close"}                       -> {"id":4,"closed":true} and exit 0
// Log lines of the host go out as {"type":"log",...}; {"type":"ready"} once create() resolved.
import { createInterface } from "node:readline";
import { ModHost } from "modhost";

const config = JSON.parse(process.argv[2]);
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const host = await ModHost.create({
  modsDir: config.modsDir,
  stateDir: config.stateDir,
  isolation: config.isolation ?? "inline",
  probation: false,
  registry: { url: config.registry, token: config.token, trustedKeys: config.trust },
  fleet: { redis: config.redis, server: config.server, ...(config.group ? { group: config.group } : {}), heartbeatMs: config.heartbeatMs ?? 200, backstopMs: config.backstopMs ?? 1000, ...(config.leaseMs ? { leaseMs: config.leaseMs } : {}) },
});
host.on("log", (line) => out({ type: "log", ...line }));
host.on("swap", (r) => out({ type: "swap", ok: r.ok, kind: r.kind, from: r.from, to: r.to, error: r.error }));
out({ type: "ready", mods: host.mods().map((m) => ({ name: m.name, version: m.version })) });
let chain = Promise.resolve();
// The n each answered event saw, by version: a repeated n means an answered event's effect was lost.
const seen = new Map();
createInterface({ input: process.stdin }).on("line", (line) => {
  chain = chain.then(async () => {
    const msg = JSON.parse(line);
    try {
      if (msg.cmd === "emit") {
        const versions = {};
        const codes = {};
        let ok = 0;
        let failed = 0;
        for (let i = 0; i < msg.n; i++) {
          const results = await host.emit("hit", { player: msg.player ?? "p" });
          for (const r of results) {
            versions[r.version] = (versions[r.version] ?? 0) + 1;
            if (!r.ok) {
              codes[r.error?.code] = (codes[r.error?.code] ?? 0) + 1;
              if (r.error?.code !== "E_THREW") out({ type: "failed", code: r.error?.code, message: r.error?.message, version: r.version });
            }
            if (r.ok) {
              ok++;
              const prev = seen.get(r.value?.n);
              if (prev !== undefined) out({ type: "repeat", n: r.value?.n, first: prev, again: r.version });
              seen.set(r.value?.n, r.version);
            }
            else failed++;
          }
        }
        out({ id: msg.id, ok, failed, versions, codes });
      } else if (msg.cmd === "state") out({ id: msg.id, state: await host.state(msg.mod) });
      else if (msg.cmd === "mods") out({ id: msg.id, mods: host.mods().map((m) => ({ name: m.name, version: m.version, status: m.status })) });
      else if (msg.cmd === "close") {
        await host.close();
        out({ id: msg.id, closed: true });
        process.exit(0);
      }
    } catch (err) {
      out({ id: msg.id, error: { code: err.code, message: err.message } });
    }
  });
});
