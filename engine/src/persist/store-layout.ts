/**
 * The file names of a mod's state folder: `checkpoint-N.dat` and `journal-N.log`, N an
 * eight-digit segment number, beside `meta.json` and the `damaged/` folder.
 */
export const CHECKPOINT_FILE = /^checkpoint-(\d{8})\.dat$/;
export const JOURNAL_FILE = /^journal-(\d{8})\.log$/;
export const META_FILE = "meta.json";
export const DAMAGED_FOLDER = "damaged";

const pad = (n: number): string => String(n).padStart(8, "0");

/** The file name of checkpoint `n`. */
export const checkpointName = (n: number): string => `checkpoint-${pad(n)}.dat`;

/** The file name of journal segment `n`. */
export const journalName = (n: number): string => `journal-${pad(n)}.log`;

/** The segment number in a checkpoint or journal file name, or undefined for any other name. */
export function segmentOf(name: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** The segment numbers of the files in `names` that match `pattern`, in listing order. */
export function segmentsOf(names: readonly string[], pattern: RegExp): number[] {
  return names.flatMap((name) => {
    const n = segmentOf(name, pattern);
    return n === undefined ? [] : [n];
  });
}

/** The stateDir's folder of the shared write-ahead journal (see SharedJournal). */
export const SHARED_JOURNAL_FOLDER = "wal";
export const SHARED_JOURNAL_FILE = /^wal-(\d{8})\.log$/;

/** The file name of shared journal segment `n`. */
export const sharedJournalName = (n: number): string => `wal-${pad(n)}.log`;

/** A mod's note of records the shared journal's redo found lost (see redoSharedJournal). */
export const SHARED_LOSS_FILE = "shared-journal-loss.json";
