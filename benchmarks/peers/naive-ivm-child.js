// The child of naive-ivm-process.js: the naive isolated-vm loader, fed frames on stdin and
// answering on stdout. The first frame is `{ mods, options }`, answered `{ mods: [names] }` (or
// `{ error }`); every later frame is a batch's JSON (`[[event, payload], ...]`), given as it is to
// every mod (each must handle every event) and answered with their result arrays joined:
// `[[results of the first mod], ...]`. stdin's end closes the loader.
import { FrameDecoder, encodeFrame } from "./naive-ivm-process.js";
import { NaiveIvmLoader } from "./naive-ivm.js";

let loader;
const answer = (text) => process.stdout.write(encodeFrame(text));

function onFrame(text) {
  if (loader === undefined) {
    try {
      const { mods, options } = JSON.parse(text);
      // NaiveIvmLoader.create is async only by its signature: load() runs at once.
      NaiveIvmLoader.create(mods, options).then(
        (built) => {
          loader = built;
          answer(JSON.stringify({ mods: [...built.mods.keys()] }));
        },
        (err) => answer(JSON.stringify({ error: String(err?.message ?? err) })),
      );
    } catch (err) {
      answer(JSON.stringify({ error: String(err?.message ?? err) }));
    }
    return;
  }
  const parts = [];
  for (const mod of loader.mods.values()) parts.push(mod.sandbox.call("__dispatchBatch", text));
  answer(`[${parts.join(",")}]`);
}

const requests = new FrameDecoder(onFrame);
process.stdin.on("data", (chunk) => requests.push(chunk));
process.stdin.on("end", () => {
  loader?.close();
  process.exit(0);
});
