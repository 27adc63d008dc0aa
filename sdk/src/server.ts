/**
 * `holdfast/server`: the entry for code that runs only on your own servers, kept apart
 * from the browser entry (`holdfast`) so that none of it reaches a browser bundle.
 *
 * Today it holds types only: the claims of a browser token (shared/SPEC.md §7), a
 * short-lived JWT that your backend signs and the service verifies. `mintToken()` arrives
 * here with issue 11, together with the service's verification of such tokens; until
 * then the service accepts static bearer tokens only.
 */

/** What a browser token may do: `lock` (acquire, release, extend) and `read` (owns, lookup). */
export type BrowserTokenScope = "lock" | "read";

/** The payload of a browser token. A token that claims `admin` is refused. */
export interface BrowserTokenClaims {
  /** Always "holdfast". */
  aud: "holdfast";
  /** Expiry, in seconds since the epoch (JWT NumericDate); at most 24 h ahead. */
  exp: number;
  /** The tenant whose keys the token reaches. */
  tenant: string;
  /** The principal: the user or device the token was minted for. */
  sub: string;
  /** Space-separated scopes, e.g. "lock read". */
  scope: string;
  /**
   * Key prefixes: acquire and lookup only for keys that start with one of them. A lockId
   * stays the capability for release, extend and owns.
   */
  keys: readonly string[];
}
