/**
 * The gym-like environment contract the PPO trainer, the rollout workers and evaluation share
 * (the market environment and the CartPole check both implement it).
 */

export interface StepInfo {
  [key: string]: unknown;
}

export interface StepResult {
  /** Reused between steps: copy it to keep it. */
  obs: Float32Array;
  reward: number;
  /** The episode ended by itself (end of the timeline, pole fell). */
  terminated: boolean;
  /** The episode was cut short (step limit). */
  truncated: boolean;
  /**
   * How much time this step took, in the discount's unit: PPO discounts a step by γ^elapsed (and
   * GAE's λ likewise). Seconds of market time for the market environment, whose decision ticks
   * are irregular; absent = 1 (one step, as in CartPole).
   */
  elapsed?: number;
  info: StepInfo;
}

export interface Environment {
  readonly observationSize: number;
  readonly actionCount: number;
  /** Starts an episode; a seed makes it (and what follows) reproducible. */
  reset(seed?: number): Float32Array;
  step(action: number): StepResult;
  /** Valid actions now (1 = allowed) into `out` (length `actionCount`); absent = all valid. */
  actionMask?(out: Uint8Array): Uint8Array;
}
