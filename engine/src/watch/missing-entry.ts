/**
 * Is `error` the file system saying the entry is not there (ENOENT), or a parent of it is not a
 * folder (ENOTDIR)? In a tree that editors and tools rewrite under our feet this is the normal
 * outcome of a race, not a problem to report.
 */
export function isMissingEntryError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
