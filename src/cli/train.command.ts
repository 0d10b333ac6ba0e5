/**
 * `kalshiflow train --sessions … --out model.onnx`: PPO on recorded sessions (`trainPolicy`),
 * with an optional curriculum, checkpoints and resume, validation sessions for best-checkpoint
 * selection, a progress bar on a terminal (plain lines otherwise), and the bookkeeping in the store: a `models` row (status `training` → `candidate`,
 * or `failed`; hyperparameters, sessions, final metrics, the ONNX file and its SHA-256) and one
 * `episodes` row (kind `training`) per PPO iteration with its statistics.
 *
 * Isolation: the sessions are loaded completely before training starts; training never reads a
 * live stream nor the database during a step. Sessions still being recorded are refused.
 */
import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { OBS_VERSION } from '../core/features.ts';
import { DEFAULT_ACTION_SPACE, actionNames, parseSizes } from '../core/features/actions.ts';
import type { ActionSpaceConfig, OrderStyle } from '../core/features/actions.ts';
import { recordEpisode, registerModel, setModelStatus } from '../adapters/store/index.ts';
import { resolveMarketEnvConfig } from '../rl/env.ts';
import type { MarketEnvConfig } from '../rl/env.ts';
import { resolvePpoConfig } from '../rl/ppo/trainer.ts';
import type { PpoConfig } from '../rl/ppo/trainer.ts';
import { TrainingError, readCheckpoint, trainPolicy } from '../rl/train.ts';
import type { Curriculum, TrainProgress } from '../rl/train.ts';
import type { MarketTimeline } from '../rl/timeline.ts';
import {
  ENV_FLAGS,
  ENV_FLAGS_USAGE,
  chooseStore,
  defaultIo,
  describeStore,
  durationFlag,
  envFlagValues,
  formatSeconds,
  integer,
  loadSessionTimelines,
  openStore,
  parseFlags,
  parseSessionSpec,
  positiveInt,
  positiveNumber,
  progressBar,
  resolveSessionIds,
  setModelFile,
  sha256File,
  tickerList,
} from './rl-support.ts';
import type { CommandIo } from './rl-support.ts';
import { UsageError } from '../app/errors.ts';

export const TRAIN_USAGE = `usage: kalshiflow train --sessions IDS --out model.onnx [--steps 100000] [--time-limit 20m] [--validation-sessions IDS]
                        [--curriculum [easy-first|per-market|none]] [--checkpoint-dir DIR] [--checkpoint-every N]
                        [--resume [FILE|DIR]] [--tickers A,B] [--name NAME] [--model-version V]
                        [--hidden 64,64] [--n-steps 512] [--n-envs 4] [--batch-size 256] [--epochs 10]
                        [--lr 0.0003] [--gamma 0.99] [--gae-lambda 0.95] [--clip 0.2] [--ent-coef 0.01]
                        [--workers 2] [--backend onnxruntime|js] [--seed 1]
                        [--episode-length whole|DURATION] [--episode-steps 0] [--start beginning|random]
                        [--sizes 5] [--styles take|take,join] [--fees quadratic] [--starting-cash 100]
                        [--max-position 100] [--queue risk-averse] [--decision-interval 250ms] [--order-latency 1.2ms]
                        [--db URL|DIR]

  --sessions        recorded sessions: ids (3,4), ranges (3-8), \`all\`, regime:NAME (see \`kalshiflow rl sessions\`)
  --out             the ONNX model to write (obs-v1 policy contract; loads with --strategy onnx:<file>)
  --steps           environment steps in total, resumed steps included (default 100000)
  --time-limit      stop after this much wall-clock time (e.g. 20m) and export as at the end
  --validation-sessions  held-out sessions the policy is run on greedily every --validate-every steps (default
                    about 20 times per run); the model written is the one with the best mean validation net P&L
  --curriculum      easy-first (bare flag: tight, quiet markets first), per-market (one market at a time,
                    longest first) or none (default)
  --checkpoint-dir  write checkpoints (weights, optimizer, progress) here, about ten per run
  --resume          continue from a checkpoint file, or the newest one in a folder (bare: --checkpoint-dir)
  --tickers         only these markets of the sessions
  --name            model name in the registry (default: the file name); --model-version (default: a timestamp)
  --gamma, --gae-lambda  discount and GAE λ per second of market time (default 0.99, 0.95)
  --clip, --ent-coef, --lr  PPO's clip range (0.2), entropy bonus (0.01), Adam learning rate (0.0003)
  --workers, --backend  rollout worker threads (default 2) and who runs the update (default onnxruntime,
                    about 4× faster than js on this machine's bench/rl-ppo)
  --episode-length  an episode is a whole market of a session (default) or this much market time of it
  --episode-steps   also at most this many decision ticks (0 = no limit; default 0)
  --start           where episodes start: the first snapshot (default) or a random event
  --sizes           order sizes in contracts, comma-separated (default 5); --styles take and/or join
${ENV_FLAGS_USAGE}
  --db              postgres:// URL or embedded database folder (default DATABASE_URL, else $KALSHIFLOW_DATA_DIR/db)`;

const CURRICULA: readonly Curriculum[] = ['none', 'easy-first', 'per-market'];

/**
 * Training episodes of a new run: a whole market of a session from its first snapshot, as `eval`
 * runs it (the discount is per second of market time, so a long episode is no harder to credit).
 */
const TRAIN_ENV_DEFAULTS: Partial<MarketEnvConfig> = { maxEpisodeSteps: 0, maxEpisodeMs: 0, start: 'beginning' };

/** The faster update of this machine (bench/rl-ppo: onnxruntime with 2 workers ≈ 4× the js kernels). */
const TRAIN_PPO_DEFAULTS: Partial<PpoConfig> = { backend: 'onnxruntime', workers: 2 };

interface TrainPlan {
  sessions: string;
  timeLimitMs?: number;
  validationSessions?: string;
  validateEvery?: number;
  out: string;
  steps: number;
  /** Absent: none, or the checkpoint's when resuming. */
  curriculum?: Curriculum;
  checkpointDir?: string;
  checkpointEvery?: number;
  resumeFrom?: string;
  tickers?: string[];
  name: string;
  version: string;
  ppo: Partial<PpoConfig>;
  env: Partial<MarketEnvConfig>;
  db?: string;
}

function versionStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function plan(argv: string[], nowMs: number): TrainPlan | 'help' {
  const { values, positionals } = parseFlags(
    argv,
    {
      sessions: { type: 'string' },
      'validation-sessions': { type: 'string' },
      'validate-every': { type: 'string' },
      'time-limit': { type: 'string' },
      out: { type: 'string' },
      steps: { type: 'string' },
      curriculum: { type: 'string' },
      'checkpoint-dir': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'string' },
      tickers: { type: 'string' },
      name: { type: 'string' },
      'model-version': { type: 'string' },
      hidden: { type: 'string' },
      'n-steps': { type: 'string' },
      'n-envs': { type: 'string' },
      'batch-size': { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      'ent-coef': { type: 'string' },
      gamma: { type: 'string' },
      'gae-lambda': { type: 'string' },
      clip: { type: 'string' },
      'episode-length': { type: 'string' },
      ...ENV_FLAGS,
      workers: { type: 'string' },
      backend: { type: 'string' },
      seed: { type: 'string' },
      'episode-steps': { type: 'string' },
      start: { type: 'string' },
      sizes: { type: 'string' },
      styles: { type: 'string' },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    ['curriculum', 'resume'],
  );
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  if (!values.sessions) throw new UsageError('--sessions: required (recorded session ids, ranges, `all` or regime:NAME)');
  parseSessionSpec(values.sessions);
  if (values['validation-sessions'] !== undefined) parseSessionSpec(values['validation-sessions'], 'validation-sessions');
  if (!values.out) throw new UsageError('--out: required (the ONNX model file to write)');
  if (extname(values.out) !== '.onnx') throw new UsageError(`--out: the model file must end in .onnx, got ${JSON.stringify(values.out)}`);

  let curriculum: Curriculum | undefined;
  if (values.curriculum !== undefined) {
    const c = values.curriculum === '' ? 'easy-first' : values.curriculum;
    if (!(CURRICULA as readonly string[]).includes(c)) throw new UsageError(`--curriculum: must be easy-first, per-market or none, got ${JSON.stringify(c)}`);
    curriculum = c as Curriculum;
  }
  let resumeFrom: string | undefined;
  if (values.resume !== undefined) {
    resumeFrom = values.resume === '' ? values['checkpoint-dir'] : values.resume;
    if (!resumeFrom) throw new UsageError('--resume: give a checkpoint file or folder, or --checkpoint-dir');
  }

  const ppo: Partial<PpoConfig> = {};
  if (values.hidden !== undefined) {
    const hidden = values.hidden.split(',').map((h) => positiveInt('hidden', h.trim(), 0));
    ppo.hidden = hidden;
  }
  if (values['n-steps'] !== undefined) ppo.nSteps = positiveInt('n-steps', values['n-steps'], 0);
  if (values['n-envs'] !== undefined) ppo.nEnvs = positiveInt('n-envs', values['n-envs'], 0);
  if (values['batch-size'] !== undefined) ppo.batchSize = positiveInt('batch-size', values['batch-size'], 0);
  if (values.epochs !== undefined) ppo.nEpochs = positiveInt('epochs', values.epochs, 0);
  if (values.lr !== undefined) ppo.learningRate = positiveNumber('lr', values.lr, 0);
  if (values['ent-coef'] !== undefined) {
    const e = Number(values['ent-coef']);
    if (!Number.isFinite(e) || e < 0) throw new UsageError(`--ent-coef: must be a number ≥ 0, got ${JSON.stringify(values['ent-coef'])}`);
    ppo.entCoef = e;
  }
  const unit = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${flag}: must be a number from 0 to 1, got ${JSON.stringify(text)}`);
    return n;
  };
  const gamma = unit('gamma', values.gamma);
  if (gamma !== undefined) ppo.gamma = gamma;
  const lambda = unit('gae-lambda', values['gae-lambda']);
  if (lambda !== undefined) ppo.gaeLambda = lambda;
  if (values.clip !== undefined) ppo.clipRange = positiveNumber('clip', values.clip, 0);
  if (values.workers !== undefined) ppo.workers = integer('workers', values.workers, 0);
  if (values.backend !== undefined) {
    if (values.backend !== 'js' && values.backend !== 'onnxruntime') throw new UsageError(`--backend: must be js or onnxruntime, got ${JSON.stringify(values.backend)}`);
    ppo.backend = values.backend;
  }
  if (values.seed !== undefined) ppo.seed = integer('seed', values.seed, 1);

  // only what was given: a resumed run takes the rest from its checkpoint, a new one from TRAIN_ENV_DEFAULTS
  const env: Partial<MarketEnvConfig> = envFlagValues(values);
  if (values['episode-length'] !== undefined) {
    env.maxEpisodeMs = values['episode-length'].trim() === 'whole' ? 0 : durationFlag('episode-length', values['episode-length']);
  }
  if (values['episode-steps'] !== undefined) {
    env.maxEpisodeSteps = integer('episode-steps', values['episode-steps'], 0);
    if (env.maxEpisodeSteps < 0) throw new UsageError('--episode-steps: must be ≥ 0');
  }
  if (values.start !== undefined) {
    if (values.start !== 'random' && values.start !== 'beginning') throw new UsageError(`--start: must be random or beginning, got ${JSON.stringify(values.start)}`);
    env.start = values.start;
  }
  if (values.sizes !== undefined || values.styles !== undefined) {
    let sizes = DEFAULT_ACTION_SPACE.sizes;
    if (values.sizes !== undefined) {
      try {
        sizes = parseSizes(values.sizes);
      } catch (error) {
        throw new UsageError(`--sizes: ${(error as Error).message}`);
      }
      if (sizes.length === 0) throw new UsageError('--sizes: empty list');
    }
    const styles = (values.styles ?? 'take').split(',').map((s) => s.trim()).filter(Boolean);
    if (styles.length === 0 || styles.some((s) => s !== 'take' && s !== 'join') || new Set(styles).size !== styles.length) {
      throw new UsageError(`--styles: take and/or join, comma-separated, got ${JSON.stringify(values.styles)}`);
    }
    env.actions = { sizes: [...sizes], styles: styles as OrderStyle[] } satisfies ActionSpaceConfig;
  }

  return {
    sessions: values.sessions,
    ...(values['validation-sessions'] !== undefined ? { validationSessions: values['validation-sessions'] } : {}),
    ...(values['validate-every'] !== undefined ? { validateEvery: positiveInt('validate-every', values['validate-every'], 0) } : {}),
    ...(values['time-limit'] !== undefined ? { timeLimitMs: durationFlag('time-limit', values['time-limit']) } : {}),
    out: values.out,
    steps: positiveInt('steps', values.steps, 100_000),
    ...(curriculum !== undefined ? { curriculum } : {}),
    ...(values['checkpoint-dir'] !== undefined ? { checkpointDir: values['checkpoint-dir'] } : {}),
    ...(values['checkpoint-every'] !== undefined ? { checkpointEvery: positiveInt('checkpoint-every', values['checkpoint-every'], 0) } : {}),
    ...(resumeFrom !== undefined ? { resumeFrom } : {}),
    ...(values.tickers !== undefined ? { tickers: tickerList(values.tickers) } : {}),
    name: values.name?.trim() || basename(values.out, '.onnx'),
    version: values['model-version']?.trim() || versionStamp(nowMs),
    ppo,
    env,
    ...(values.db !== undefined ? { db: values.db } : {}),
  };
}

function progressText(p: TrainProgress, elapsedMs: number, startSteps: number): string {
  const fraction = p.stepsDone / p.totalSteps;
  const rate = (p.stepsDone - startSteps) / Math.max(1e-3, elapsedMs / 1000);
  const eta = rate > 0 ? (Math.max(0, p.totalSteps - p.stepsDone) / rate) * 1000 : Number.NaN;
  const phase = p.phases > 1 ? ` phase ${p.phase}/${p.phases}` : '';
  return (
    `${progressBar(fraction)} ${p.stepsDone}/${p.totalSteps} steps, it ${p.iteration}${phase}, ` +
    `return ${Number.isFinite(p.meanReturn) ? p.meanReturn.toFixed(4) : '—'}, len ${Number.isFinite(p.meanLength) ? Math.round(p.meanLength) : '—'}, entropy ${p.entropy.toFixed(3)}, kl ${p.approxKl.toFixed(4)}, ` +
    `${Math.round(p.stepsPerSecond)} steps/s, eta ${formatSeconds(eta)}` +
    (p.validation ? `, validation ${p.validation.meanPnl >= 0 ? '+' : ''}$${p.validation.meanPnl.toFixed(3)}/episode` : '') +
    (p.bestValidation ? ` (best $${p.bestValidation.meanPnl.toFixed(3)} at ${p.bestValidation.stepsDone})` : '')
  );
}

export async function runTrainCommand(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const wallStart = Date.now();
  const planned = plan(argv, wallStart);
  if (planned === 'help') {
    io.out(TRAIN_USAGE);
    return 0;
  }
  if (planned.resumeFrom !== undefined && !existsSync(planned.resumeFrom)) {
    throw new UsageError(`--resume: ${planned.resumeFrom} does not exist`);
  }
  const choice = chooseStore(planned.db, io.env);
  const db = await openStore(choice);
  let modelId: number | null = null;
  try {
    const ids = await resolveSessionIds(db.pool, planned.sessions);
    const loaded = await loadSessionTimelines(db.pool, ids, planned.tickers);
    const markets = loaded.reduce((s, l) => s + l.timelines.length, 0);
    const events = loaded.reduce((s, l) => s + l.events, 0);
    io.out(`training on ${ids.length} session(s) [${ids.join(', ')}]: ${markets} markets, ${events} events, from ${describeStore(db, choice)}`);
    let validationIds: number[] = [];
    let validation: MarketTimeline[] = [];
    if (planned.validationSessions !== undefined) {
      validationIds = await resolveSessionIds(db.pool, planned.validationSessions, 'validation-sessions');
      const overlap = validationIds.filter((id) => ids.includes(id));
      if (overlap.length > 0) throw new UsageError(`--validation-sessions: session(s) ${overlap.join(', ')} are also training sessions`);
      const v = await loadSessionTimelines(db.pool, validationIds, planned.tickers, 'validation-sessions');
      validation = v.flatMap((l) => l.timelines);
      io.out(`validating on ${validationIds.length} session(s) [${validationIds.join(', ')}]: ${validation.length} markets`);
    }
    if (markets === 0) throw new UsageError(`--sessions: the sessions have no market with a book snapshot${planned.tickers ? ` among ${planned.tickers.join(', ')}` : ''}`);

    let startSteps = 0;
    let ppo: Partial<PpoConfig> = { ...TRAIN_PPO_DEFAULTS, ...planned.ppo };
    let env: Partial<MarketEnvConfig> = { ...TRAIN_ENV_DEFAULTS, ...planned.env };
    let curriculum: Curriculum = planned.curriculum ?? 'none';
    if (planned.resumeFrom !== undefined) {
      const { path, checkpoint } = await readCheckpoint(planned.resumeFrom);
      startSteps = checkpoint.stepsDone;
      // a resumed run continues with the checkpoint's settings unless a flag overrides one
      ppo = { ...(checkpoint.ppo as Partial<PpoConfig>), ...planned.ppo };
      env = { ...(checkpoint.env as Partial<MarketEnvConfig>), ...planned.env };
      curriculum = planned.curriculum ?? checkpoint.curriculum;
      const resolved = resolvePpoConfig(ppo);
      const saved = checkpoint.policy.shape;
      if (saved.hidden.join(',') !== resolved.hidden.join(',') || saved.architecture !== resolved.architecture) {
        throw new UsageError(`--resume: ${path} has a ${saved.architecture} network [${saved.hidden}], --hidden asks for ${resolved.architecture} [${resolved.hidden}]`);
      }
      const names = actionNames(resolveMarketEnvConfig(env).actions);
      if (names.join(',') !== checkpoint.actions.join(',')) {
        throw new UsageError(`--resume: ${path} has actions ${checkpoint.actions.join(',')}, --sizes/--styles ask for ${names.join(',')}`);
      }
      io.out(
        checkpoint.stepsDone >= planned.steps
          ? `checkpoint ${path} is already at ${checkpoint.stepsDone} steps (≥ --steps ${planned.steps}): exporting it`
          : `resuming from ${path} at ${checkpoint.stepsDone}/${planned.steps} steps (iteration ${checkpoint.iteration})`,
      );
    }
    try {
      resolvePpoConfig(ppo);
      resolveMarketEnvConfig(env);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const outPath = resolve(planned.out);
    const model = await registerModel(
      db.pool,
      {
        name: planned.name,
        version: planned.version,
        algorithm: 'ppo',
        obsVersion: OBS_VERSION,
        filePath: outPath,
        status: 'training',
        hyperparameters: {
          sessions: ids,
          validation_sessions: validationIds,
          tickers: planned.tickers ?? null,
          steps: planned.steps,
          curriculum,
          ppo,
          env,
          resumed_from: planned.resumeFrom ? resolve(planned.resumeFrom) : null,
        },
      },
      Date.now(),
    ).catch((error: unknown) => {
      // 23505: unique_violation on (name, version)
      if ((error as { code?: unknown }).code === '23505') {
        throw new UsageError(`model ${planned.name} version ${planned.version} is already registered; pick another --name or --model-version`);
      }
      throw error;
    });
    modelId = model.id;
    io.out(`model #${model.id} ${model.name} ${model.version} (status training) → ${outPath}`);

    let lastLine = 0;
    let lastSteps = startSteps;
    const trainStart = performance.now();
    const result = await trainPolicy({
      sessions: loaded.map((l) => l.timelines),
      curriculum,
      steps: planned.steps,
      out: outPath,
      modelVersion: planned.version,
      env,
      ppo,
      validation,
      ...(planned.validateEvery !== undefined ? { validateEvery: planned.validateEvery } : {}),
      ...(planned.timeLimitMs !== undefined ? { timeLimitMs: planned.timeLimitMs } : {}),
      ...(planned.checkpointDir !== undefined ? { checkpointDir: planned.checkpointDir } : {}),
      ...(planned.checkpointEvery !== undefined ? { checkpointEvery: planned.checkpointEvery } : {}),
      ...(planned.resumeFrom !== undefined ? { resumeFrom: planned.resumeFrom } : {}),
      onProgress: async (p) => {
        // no episode has finished yet early on: the means are NaN
        const finite = (v: number) => (Number.isFinite(v) ? v : null);
        await recordEpisode(db.pool, {
          modelId: model.id,
          kind: 'training',
          episodeNumber: p.iteration,
          steps: p.stepsDone - lastSteps,
          totalReward: finite(p.meanReturn) ?? 0,
          // the mean episode return is the mean episode P&L in dollars (reward = Δ portfolio value)
          pnl: Math.round(((finite(p.meanReturn) ?? 0) / (env.rewardScale ?? 1)) * 1_000_000),
          fees: 0,
          trades: 0,
          metrics: {
            steps_done: p.stepsDone,
            total_steps: p.totalSteps,
            phase: p.phase,
            phases: p.phases,
            mean_return: finite(p.meanReturn),
            mean_length: finite(p.meanLength),
            entropy: finite(p.entropy),
            approx_kl: finite(p.approxKl),
            steps_per_second: finite(p.stepsPerSecond),
            ...(p.validation ? { validation_mean_pnl: p.validation.meanPnl, validation_dominant_share: p.validation.dominantShare } : {}),
            pnl_meaning: 'mean return of the last ≤ 100 training episodes, in micros',
            ...(p.checkpoint ? { checkpoint: p.checkpoint } : {}),
          },
          createdMs: Date.now(),
        });
        lastSteps = p.stepsDone;
        const text = progressText(p, performance.now() - trainStart, startSteps);
        if (io.rewrite) {
          io.rewrite(text);
          if (p.checkpoint) {
            io.rewrite('');
            io.out(`checkpoint ${p.checkpoint}`);
          }
        } else {
          const now = performance.now();
          if (now - lastLine >= 1_000 || p.stepsDone >= p.totalSteps || p.checkpoint) {
            lastLine = now;
            io.out(text);
            if (p.checkpoint) io.out(`checkpoint ${p.checkpoint}`);
          }
        }
      },
    });
    if (io.rewrite) io.rewrite('');

    const sha = await sha256File(outPath);
    await setModelFile(db.pool, model.id, outPath, sha, Date.now());
    const last = result.last;
    const final = await setModelStatus(db.pool, model.id, 'candidate', Date.now(), {
      steps_done: result.stepsDone,
      iterations: result.iterations,
      checkpoints: result.checkpoints,
      wall_seconds: Math.round((Date.now() - wallStart) / 1000),
      timed_out: result.timedOut,
      validations: result.validations.map((v) => ({ steps: v.stepsDone, mean_pnl: v.meanPnl, dominant_share: v.dominantShare })),
      best_validation: result.best ? { steps: result.best.stepsDone, mean_pnl: result.best.meanPnl, dominant_share: result.best.dominantShare } : null,
      ...(last
        ? {
            mean_return: Number.isFinite(last.meanReturn) ? last.meanReturn : null,
            mean_length: Number.isFinite(last.meanLength) ? last.meanLength : null,
            entropy: last.loss.entropy,
            approx_kl: last.loss.approxKl,
            value_loss: last.loss.valueLoss,
            policy_loss: last.loss.policyLoss,
          }
        : {}),
    });
    io.out(
      `model #${final.id} ${final.name} ${final.version}: ${result.stepsDone} steps, ${result.iterations} iterations` +
        `${last && Number.isFinite(last.meanReturn) ? `, mean return ${last.meanReturn.toFixed(4)}` : ''}; wrote ${outPath} (sha256 ${sha.slice(0, 12)}), status candidate`,
    );
    if (result.timedOut) io.out(`stopped at the --time-limit after ${result.stepsDone} steps`);
    if (result.best) {
      io.out(
        `exported the best validated policy: steps ${result.best.stepsDone}, mean validation net P&L $${result.best.meanPnl.toFixed(3)} per episode` +
          `${result.best.dominantShare >= 0.99 ? ' (COLLAPSED: one action at ≥ 99 % of steps)' : ''}`,
      );
    }
    io.out(`next: kalshiflow eval --model ${planned.out} --sessions <held-out ids> --out <dir>`);
    return 0;
  } catch (error) {
    if (io.rewrite) io.rewrite('');
    if (modelId !== null) {
      const message = error instanceof Error ? error.message : String(error);
      // twice: after a failed statement the embedded database may drop the pooled connection once
      for (let attempt = 0; attempt < 2; attempt++) {
        const marked = await setModelStatus(db.pool, modelId, 'failed', Date.now(), { error: message }).then(
          () => true,
          () => false,
        );
        if (marked) break;
      }
    }
    if (error instanceof TrainingError) throw new UsageError(error.message);
    if (error instanceof RangeError && /config/.test(error.message)) throw new UsageError(error.message);
    throw error;
  } finally {
    await db.close();
  }
}
