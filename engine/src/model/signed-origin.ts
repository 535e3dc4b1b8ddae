/** Where a signed folder's code came from: the package its listing signs. */
export interface SignedOrigin {
  readonly package: string;
  readonly version: string;
  readonly keyId: string;
}
