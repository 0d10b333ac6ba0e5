/**
 * CartPole-v1 (Barto, Sutton & Anderson; the Gymnasium constants and Euler integration): the
 * known-solvable task that checks the PPO implementation learns (max return 500). Not a market
 * environment; it exists to test the trainer.
 */
import { Rng } from '../core/random.ts';
import type { Environment, StepResult } from './types.ts';

const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_CART + MASS_POLE;
const HALF_LENGTH = 0.5;
const POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH;
const FORCE = 10.0;
const TAU = 0.02;
const THETA_LIMIT = (12 * 2 * Math.PI) / 360;
const X_LIMIT = 2.4;

export class CartPole implements Environment {
  readonly observationSize = 4;
  readonly actionCount = 2;
  readonly maxSteps: number;
  private readonly state = new Float32Array(4);
  private readonly result: StepResult;
  private rng = new Rng(0);
  private steps = 0;
  private x = 0;
  private xDot = 0;
  private theta = 0;
  private thetaDot = 0;

  constructor(options: { maxSteps?: number } = {}) {
    this.maxSteps = options.maxSteps ?? 500;
    this.result = { obs: this.state, reward: 0, terminated: false, truncated: false, info: {} };
  }

  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Rng(seed);
    const u = () => this.rng.next() * 0.1 - 0.05;
    this.x = u();
    this.xDot = u();
    this.theta = u();
    this.thetaDot = u();
    this.steps = 0;
    this.write();
    return this.state;
  }

  step(action: number): StepResult {
    const force = action === 1 ? FORCE : -FORCE;
    const cos = Math.cos(this.theta);
    const sin = Math.sin(this.theta);
    const temp = (force + POLE_MASS_LENGTH * this.thetaDot * this.thetaDot * sin) / TOTAL_MASS;
    const thetaAcc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4 / 3 - (MASS_POLE * cos * cos) / TOTAL_MASS));
    const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
    this.x += TAU * this.xDot;
    this.xDot += TAU * xAcc;
    this.theta += TAU * this.thetaDot;
    this.thetaDot += TAU * thetaAcc;
    this.steps++;
    this.write();
    const terminated = this.x < -X_LIMIT || this.x > X_LIMIT || this.theta < -THETA_LIMIT || this.theta > THETA_LIMIT;
    this.result.reward = 1;
    this.result.terminated = terminated;
    this.result.truncated = !terminated && this.steps >= this.maxSteps;
    return this.result;
  }

  private write(): void {
    this.state[0] = this.x;
    this.state[1] = this.xDot;
    this.state[2] = this.theta;
    this.state[3] = this.thetaDot;
  }
}
