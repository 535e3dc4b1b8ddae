// Signed packages: what verification costs, and (with --publish) how long from `npm publish` to
// the first event answered by the new version on a host that follows the package.
//
//   node --no-node-snapshot benchmarks/registry.js [--samples N] [--out <file>]
//
//   registry.verify100.p50_ms / .p99_ms   verifyPackage() of a 100-file package (~2 KB per file):
//                                         sha512 integrity, gunzip + strict tar read, listing
//                                         hashes, Ed25519 signature, trust, names, version
//   registry.pack100.p50_ms               packMod() of the same mod (read, listing, sign, tar, gzip;
//                                         without the compile gate of `modhost pack`)
//   registry.npm_publish.p50_ms           the `npm publish <tgz>` command alone (to Verdaccio)
//   registry.poll_to_event.p50_ms         host.pollRegistry() right after the publish -> first event
//                                         answered by the new version (packument, download, verify,
//                                         deploy, compile, type-check, swap)
//   registry.publish_to_event.p50_ms      both: `npm publish` started -> first event answered by the
//                                         new version. The poll interval is not in it (the poll is
//                                         triggered at once): add pollMs/2 on average, pollMs at worst.
//
// Prints one JSON object { date, params, metrics, samples } and writes it to --out if given.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { record, nowMs, sleep } from "./lib/stats.js";
import { startVerdaccio } from "./lib/verdaccio.js";

const { generateKeyPair, publicKeyLine } = await import("../engine/dist/registry/minisign-key.js");
const { packMod } = await import("../engine/dist/registry/mod-packer.js");
const { verifyPackage, parseTrustedKeys, ModHost } = await import("modhost");

function parseArgs(argv) {
  const args = { samples: 50, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--samples") args.samples = Number(argv[++i]);
    else if (argv[i] === "--out") args.out = argv[++i];
  }
  return args;
}

/** A mod of `files` files: mod.json, main.ts and helpers importing nothing, ~2 KB each. */
async function writeMod(dir, files) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "mod.json"), JSON.stringify({ name: "bench", version: "1.0.0", entry: "main.ts", permissions: [] }));
  await writeFile(join(dir, "main.ts"), `import { defineMod } from "@modhost/sdk";\nexport default defineMod({ init: () => ({ n: 0 }), on: { hit(s: { n: number }) { s.n++; return s.n; } } });\n`);
  for (let f = 0; f < files - 2; f++) {
    const body = Array.from({ length: 40 }, (_, i) => `export const value${i} = ${(f * 7919 + i * 104729) % 1000003} * ${i + f}; // file ${f}`).join("\n");
    await writeFile(join(dir, `helper${String(f).padStart(3, "0")}.ts`), `${body}\n`);
  }
}

async function verifyBench(metrics, counts, samples) {
  const dir = await mkdtemp(join(tmpdir(), "modhost-bench-registry-"));
  try {
    await writeMod(join(dir, "bench"), 100);
    const key = generateKeyPair();
    const trust = parseTrustedKeys({ keys: [{ key: publicKeyLine(key.publicKey), mods: ["bench"] }] });
    const packTimes = [];
    let packed;
    for (let i = 0; i < Math.min(samples, 20); i++) {
      const t0 = nowMs();
      packed = await packMod(join(dir, "bench"), key);
      packTimes.push(nowMs() - t0);
    }
    const verifyTimes = [];
    for (let i = 0; i < samples + 5; i++) {
      const t0 = nowMs();
      const verified = await verifyPackage(packed.tarball, { trust, integrity: packed.integrity, packageName: "bench", newerThan: "0.9.0" });
      const ms = nowMs() - t0;
      if (verified.listing.files.length !== 101) throw new Error(`expected 101 listed files, got ${verified.listing.files.length}`);
      if (i >= 5) verifyTimes.push(ms); // the first runs warm the JIT
    }
    record(metrics, "registry.verify100", verifyTimes, counts);
    record(metrics, "registry.pack100", packTimes, counts);
    return { tarballBytes: packed.tarball.length, files: packed.listing.files.length };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}



const counterSource = (rev) => `import { defineMod } from "@modhost/sdk";
export default defineMod<{ n: number }>({ init: () => ({ n: 0 }), on: { hit(s) { s.n++; return { rev: ${rev}, n: s.n }; } } });
`;

async function publishBench(metrics, counts, samples) {
  const dir = await mkdtemp(join(tmpdir(), "modhost-bench-publish-"));
  const registry = await startVerdaccio(dir);
  let host;
  try {
    const key = generateKeyPair();
    const trust = { keys: [{ key: publicKeyLine(key.publicKey), mods: ["counter"] }] };
    const packRev = async (rev) => {
      const modDir = join(dir, "src", `rev${rev}`);
      await mkdir(modDir, { recursive: true });
      await writeFile(join(modDir, "mod.json"), JSON.stringify({ name: "counter", version: `1.0.${rev}`, entry: "main.ts", permissions: [] }));
      await writeFile(join(modDir, "main.ts"), counterSource(rev));
      const packed = await packMod(modDir, key, { packageName: "@bench/counter" });
      const file = join(dir, `counter-1.0.${rev}.tgz`);
      await writeFile(file, packed.tarball);
      return file;
    };
    await registry.publish(await packRev(0));
    await mkdir(join(dir, "mods"));
    host = await ModHost.create({ modsDir: join(dir, "mods"), stateDir: join(dir, "state"), probation: false, registry: { url: registry.url, token: registry.token, trustedKeys: trust, follow: { "@bench/counter": "latest" }, pollMs: 3_600_000 } });
    await host.pollRegistry();
    const publishMs = [];
    const pollMs = [];
    const totalMs = [];
    for (let rev = 1; rev <= samples; rev++) {
      const file = await packRev(rev);
      const t0 = nowMs();
      await registry.publish(file);
      const t1 = nowMs();
      const polled = host.pollRegistry();
      for (;;) {
        const [result] = await host.emit("hit");
        if (result?.ok && result.value.rev === rev) break;
        if (nowMs() - t1 > 60_000) throw new Error(`rev ${rev} did not go live in 60 s`);
        await sleep(2);
      }
      const t2 = nowMs();
      await polled;
      publishMs.push(t1 - t0);
      pollMs.push(t2 - t1);
      totalMs.push(t2 - t0);
    }
    record(metrics, "registry.npm_publish", publishMs, counts);
    record(metrics, "registry.poll_to_event", pollMs, counts);
    record(metrics, "registry.publish_to_event", totalMs, counts);
    return { isolation: "process", typecheck: "block", pollMsExcluded: true };
  } finally {
    await host?.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const args = parseArgs(process.argv.slice(2));
const metrics = {};
const counts = {};
const params = { samples: args.samples, node: process.version };
params.verify = await verifyBench(metrics, counts, args.samples);
params.publish = await publishBench(metrics, counts, Math.max(3, Math.min(args.samples, 10)));
const result = { date: new Date().toISOString(), params, metrics, samples: counts };
const text = JSON.stringify(result, null, 2);
if (args.out) await writeFile(args.out, `${text}\n`);
process.stdout.write(`${text}\n`);
