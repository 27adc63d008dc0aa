/**
 * A key as Postgres `text` holds it. A key may contain any Unicode scalar value, NUL
 * included, and `text` takes every one but NUL (22021). A key with a NUL is therefore
 * stored as U+FFFF (a noncharacter) followed by its JSON, which spells NUL `\u0000`.
 * Every other key is stored as it is, as it always was, so rows written before this
 * change still match.
 *
 * A key without NUL may itself look like that form; reading decides by the key id, a
 * SHA-256 of tenant and key: the stored text is the JSON form only if the key it spells
 * is the one the id names.
 */
import { keyIdOf } from "@holdfast/shared";

export const keyText = (key: string) => (key.includes("\0") ? `\uffff${JSON.stringify(key)}` : key);

export async function keyFromText(text: string, tenant: string, keyId: string): Promise<string> {
  try {
    const key: unknown = text[0] === "\uffff" && JSON.parse(text.slice(1));
    if (typeof key === "string" && (await keyIdOf(tenant, key)) === keyId) return key;
  } catch {
    // Not JSON: the key as it is.
  }
  return text;
}
