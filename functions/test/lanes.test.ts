/**
 * The per-key lane (lanes.ts) on its own, without a store: steps that queue behind a group
 * run as the next group, in arrival order; a long burst through a lane that keeps moving
 * drops nobody; a group stuck past the lane's wait drops, unsent, every step that waited
 * behind it, and the lane then serves new steps again.
 */
import { isLockError } from "@holdfast/shared";
import { expect, it } from "vitest";
import { createLanes, MAX_GROUP, type Waiting } from "../src/firestore/lanes.ts";

interface Step extends Waiting {
  id: number;
}

/** A lane whose groups each take `groupMs(group)` on a clock driven by hand: no timer, no load, no flake. */
function lane(maxWaitMs: number, groupMs: (group: Step[]) => number) {
  let clock = 0;
  const lanes = createLanes(maxWaitMs, () => clock);
  const groups: number[][] = [];
  const runGroup = async (group: Step[]) => {
    groups.push(group.map((step) => step.id));
    await Promise.resolve();
    clock += groupMs(group);
    for (const step of group) step.resolve(step.id);
    return [];
  };
  const ask = (id: number) =>
    new Promise<unknown>((resolve, reject) => lanes.join("doc", { id, resolve, reject }, runGroup)).catch(
      (error: unknown) => error,
    );
  return { ask, groups, drained: lanes.drained };
}

it("runs the steps asked for together as groups, in arrival order, and drops none while the lane moves", async () => {
  // Each group takes 40 ms; 1,000 steps take ~5 groups, far past the 60 ms wait as a whole.
  const { ask, groups } = lane(60, () => 40);
  const answers = await Promise.all(Array.from({ length: 1_000 }, (_, i) => ask(i)));
  expect(answers).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  expect(groups.flat()).toEqual(answers);
  expect(groups.every((group) => group.length <= MAX_GROUP)).toBe(true);
  expect(groups.length).toBe(Math.ceil(1_000 / MAX_GROUP));
});

it("drops the steps that waited behind a stuck group, unsent, then serves again", async () => {
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => {
    release = resolve;
  });
  let clock = 0;
  const lanes = createLanes(100, () => clock);
  const groups: number[][] = [];
  const runGroup = async (group: Step[]) => {
    groups.push(group.map((step) => step.id));
    if (group[0]?.id === 0) await stuck;
    for (const step of group) step.resolve(step.id);
    return [];
  };
  const ask = (id: number) =>
    new Promise<unknown>((resolve, reject) => lanes.join("doc", { id, resolve, reject }, runGroup)).catch(
      (error: unknown) => error,
    );
  const first = ask(0);
  await Promise.resolve();
  await Promise.resolve();
  clock += 10;
  const behind = [ask(1), ask(2)];
  clock += 300; // the first group is stuck for 300 ms of the lane's clock
  release();
  expect(await first).toBe(0);
  for (const answer of await Promise.all(behind)) {
    expect(isLockError(answer) && answer.code).toBe("ServiceUnavailable");
  }
  await lanes.drained();
  expect(await ask(3)).toBe(3);
  expect(groups).toEqual([[0], [3]]);
});
