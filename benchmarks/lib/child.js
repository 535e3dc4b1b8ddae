// Entry point of a benchmark child process: `node --no-node-snapshot lib/child.js <module> <json>`
// imports benchmarks/<module>.js, calls its `child(params)`, and prints the result as one JSON line.
const [, , moduleName, paramsJson] = process.argv;
const mod = await import(new URL(`../${moduleName}.js`, import.meta.url).href);
const result = await mod.child(JSON.parse(paramsJson ?? "{}"));
process.stdout.write(`${JSON.stringify(result)}\n`);
