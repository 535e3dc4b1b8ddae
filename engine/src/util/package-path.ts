import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** Absolute path of a file inside the `modhost` package (engine/), from source or from dist. */
export function packagePath(relative: string): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, "package.json"))) {
      const parent = dirname(dir);
      if (parent === dir) throw new Error("modhost: cannot find the package root");
      dir = parent;
    }
    root = dir;
  }
  return join(root, relative);
}
