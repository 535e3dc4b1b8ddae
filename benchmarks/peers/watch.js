// A peer's reload on save, the way a plain loader would do it: fs.watch on the mod's folder, a
// 10 ms debounce (modhost's default watchDebounceMs), read main.ts, swap.
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Watches `<modsDir>/<name>/main.ts` and swaps `loader`'s mod `name` on change; returns { close }.
 * `onError(err)` hears a swap that failed (not a read of a partly written file).
 */
export function watchMod(loader, modsDir, name, { debounceMs = 10, swapOptions, onError } = {}) {
  let timer;
  let closed = false;
  const reload = async () => {
    if (closed) return;
    let source;
    try {
      source = await readFile(join(modsDir, name, "main.ts"), "utf8");
    } catch {
      return; // gone for a moment (an atomic save): the next event brings it
    }
    if (closed) return;
    try {
      loader.swap(name, source, swapOptions);
    } catch (err) {
      onError?.(err);
    }
  };
  const watcher = watch(join(modsDir, name), (_event, file) => {
    if (file !== "main.ts") return;
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
