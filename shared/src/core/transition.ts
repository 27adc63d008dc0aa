/** What a pure transition of the core hands back to the store step that ran it. */
import type { KeyState } from "../model.ts";

export interface Outcome<R> {
  result: R;
  /** Whether the store must write the (mutated) state back. */
  changed: boolean;
}

/** An outcome, with the state it leaves (acquire may start from no record at all). */
export interface Transition<R> extends Outcome<R> {
  state: KeyState;
}
