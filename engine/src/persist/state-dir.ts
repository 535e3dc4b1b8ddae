import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ModhostError } from "../errors/modhost-error.js";
import { atomicWrite } from "./atomic-write.js";

/** The on-disk format this modhost writes and reads. */
export const STATE_FORMAT = 1;

/**
 * Opens a stateDir: creates it (with its format marker) if new, refuses one written by a newer,
 * unknown format. Returns the folder where mods' stores live.
 */
export async function openStateDir(stateDir: string): Promise<{ modsDir: string }> {
  await mkdir(stateDir, { recursive: true });
  const marker = join(stateDir, "FORMAT.json");
  let text: string | undefined;
  try {
    text = await readFile(marker, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new ModhostError("E_STATE_CORRUPT", `cannot read ${marker}: ${(err as Error).message}`, { field: "stateDir" });
  }
  if (text === undefined) {
    await atomicWrite(marker, JSON.stringify({ format: STATE_FORMAT, writer: "modhost" }));
  } else {
    let format: unknown;
    try {
      format = (JSON.parse(text) as { format?: unknown } | null)?.format;
    } catch (err) {
      throw new ModhostError("E_STATE_CORRUPT", `${marker} is damaged: it is not JSON (${(err as Error).message}). If this is a modhost stateDir, write {"format":${STATE_FORMAT}} into it; otherwise point stateDir elsewhere.`, { field: "stateDir" });
    }
    if (typeof format === "number" && Number.isInteger(format) && format > STATE_FORMAT) {
      throw new ModhostError("E_STATE_FORMAT", `the stateDir ${stateDir} was written by a newer modhost (format ${format}); this one reads format ${STATE_FORMAT}. Upgrade modhost or use another stateDir.`, { field: "stateDir" });
    }
    if (format !== STATE_FORMAT) {
      throw new ModhostError(
        "E_STATE_CORRUPT",
        `${marker} is damaged: its "format" is ${JSON.stringify(format)}${typeof format === "string" ? " (a string)" : ""}, where this modhost expects the number ${STATE_FORMAT}. If this is a modhost stateDir, write {"format":${STATE_FORMAT}} into it; otherwise point stateDir elsewhere.`,
        { field: "stateDir" },
      );
    }
  }
  const modsDir = join(stateDir, "mods");
  await mkdir(modsDir, { recursive: true });
  return { modsDir };
}
