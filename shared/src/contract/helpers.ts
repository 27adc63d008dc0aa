import { afterAll, beforeAll } from "vitest";
import type { Backend } from "../backend.ts";
import { keyIdOf, newToken } from "../keys.ts";
import type { AcquireRequest, LockRef } from "../model.ts";

export interface BackendFixture {
  backend: Backend;
  close?: () => Promise<void>;
}

/** Builds a backend for a suite; may return a fixture with a close() for the store it started. */
export type MakeBackend = () => Promise<Backend | BackendFixture> | Backend | BackendFixture;

export async function openFixture(make: MakeBackend): Promise<BackendFixture> {
  const made = await make();
  return "backend" in made ? made : { backend: made };
}

/** Opens the suite's backend before its tests (handing it to `onOpen`) and closes it after them. */
export function useBackend(make: MakeBackend, onOpen: (backend: Backend) => void): void {
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const fixture = await openFixture(make);
    close = fixture.close;
    onOpen(fixture.backend);
  }, 60_000);
  afterAll(async () => {
    await close?.();
  }, 60_000);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A key no other test (or earlier run against a persistent store) has used. */
export function uniqueKey(label: string): string {
  return `contract:${label}:${newToken()}`;
}

/** Builds acquire requests for one key, the way the HTTP layer would. */
export async function keyHandle(tenant: string, key: string) {
  const keyId = await keyIdOf(tenant, key);
  return {
    key,
    keyId,
    request(overrides: Partial<Omit<AcquireRequest, "tenant" | "key" | "keyId">> = {}): AcquireRequest {
      return {
        tenant,
        key,
        keyId,
        token: newToken(),
        ttlMs: 10_000,
        mode: "exclusive",
        permits: 1,
        limit: null,
        ...overrides,
      };
    },
    ref(token: string, asTenant = tenant): LockRef {
      return { tenant: asTenant, keyId, token };
    },
    lookupRef: { tenant, key, keyId },
  };
}
