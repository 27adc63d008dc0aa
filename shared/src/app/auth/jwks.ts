/**
 * The public keys of a JWKS URL (an identity provider's, or the customer's own), kept
 * between requests: one fetch serves every token until the set is ten minutes old, and a
 * token whose `kid` the set lacks makes it fetch again at most every 30 s. That is how a
 * provider's key rotation reaches us without a token flood turning into a fetch flood.
 * Concurrent requests share one fetch.
 */

/** A JWK as a JWKS lists it; only the fields we read are named. */
export interface PublicJwk extends JsonWebKey {
  kid?: string;
  use?: string;
}

const MAX_AGE_MS = 10 * 60_000;
const REFETCH_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

export interface KeySet {
  /** The key named `kid`, or undefined when the provider does not list it (after a refetch if one is due). */
  keyFor(kid: string): Promise<PublicJwk | undefined>;
}

export function remoteKeySet(url: string, now: () => number = Date.now): KeySet {
  let keys: PublicJwk[] | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<PublicJwk[]> | undefined;

  const refresh = () => {
    inFlight ??= fetchKeys(url)
      .then((fetched) => {
        keys = fetched;
        fetchedAt = now();
        return fetched;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    async keyFor(kid) {
      const find = (set: PublicJwk[]) => set.find((candidate) => candidate.kid === kid);
      const age = now() - fetchedAt;
      if (!keys || age >= MAX_AGE_MS) return find(await refresh());
      // A kid we do not know may be a key the provider has just added.
      return find(keys) ?? (age >= REFETCH_COOLDOWN_MS ? find(await refresh()) : undefined);
    },
  };
}

async function fetchKeys(url: string): Promise<PublicJwk[]> {
  const response = await fetch(url, {
    headers: { accept: "application/json" },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`the JWKS URL answered ${response.status}`);
  const body: unknown = await response.json();
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error("the JWKS URL answered no keys array");
  // Signing keys only: a key marked for encryption never verifies a token.
  return keys.filter(
    (key): key is PublicJwk => typeof key === "object" && key !== null && (key.use === undefined || key.use === "sig"),
  );
}
