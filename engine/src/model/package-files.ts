/** The signed listing's path inside a mod package (and inside a folder unpacked from one). */
export const LISTING_FILE = "modhost-listing.json";
/** The listing's minisign signature, beside it. */
export const SIGNATURE_FILE = "modhost-listing.json.minisig";
