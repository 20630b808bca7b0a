/**
 * Batch transforms as tagged values. A transform is called as `t(x, rng)` on a batch
 * [B, C, H, W] with the generator of its random decisions, and it also says what kind of step
 * it is, so that the loader can plan it without running it:
 *
 * - 'geometric' only moves pixels (crop, zero padding, flip) and carries its maps,
 *   `geometry(b, h, w, rng)`: the loader's worker thread can apply it as byte copies;
 * - 'affine' is a per-channel `x * scale + shift` (normalisation) and carries its constants for
 *   uint8 input: the loader applies it in the same native pass that turns bytes into floats;
 * - 'tensor' is anything else, run as it is;
 * - 'pipeline' applies its steps left to right; `pipeline([...])` flattens nested pipelines and
 *   fuses each run of geometric steps into one (one pass over the pixels, same draws).
 *
 * The tags are fields of the value itself (frozen), so they survive being passed around and
 * nested in pipelines. A plain function given where a transform is expected runs as an opaque
 * 'tensor' step; one with a `geometry` method (see {@link GeometricTransform}) as a geometric one.
 */
import type { Tensor } from '../torch/index.js';
import { batchDims } from './checks.js';
import { applyGeometry, chainGeometry, type Geometry } from './geometry.js';
import type { SeededRandom } from '../util/seeded-random.js';

/** An untagged batch function. */
export type BatchFunction = (x: Tensor, rng: SeededRandom) => Tensor;

/** The maps a geometric step applies to a batch of b images of h x w, drawing its random decisions from rng. */
export type GeometryOf = (b: number, h: number, w: number, rng: SeededRandom) => Geometry;

/** A function that only moves pixels, described by its maps: a {@link GeometricStep}, or one made by hand. */
export interface GeometricTransform {
  (x: Tensor, rng: SeededRandom): Tensor;
  geometry(b: number, h: number, w: number, rng: SeededRandom): Geometry;
}

export interface GeometricStep extends GeometricTransform {
  readonly kind: 'geometric';
  /** Names the step in error messages. */
  readonly label: string;
}

export interface AffineStep {
  (x: Tensor, rng: SeededRandom): Tensor;
  readonly kind: 'affine';
  readonly label: string;
  /** Byte v of channel c becomes v * scale[c] + shift[c] (one entry: every channel). */
  readonly onBytes: { readonly scale: readonly number[]; readonly shift: readonly number[] };
}

export interface TensorStep {
  (x: Tensor, rng: SeededRandom): Tensor;
  readonly kind: 'tensor';
  readonly label: string;
}

export interface Pipeline {
  (x: Tensor, rng: SeededRandom): Tensor;
  readonly kind: 'pipeline';
  /** Flat (no pipelines inside), with no two geometric steps in a row. */
  readonly steps: readonly Step[];
}

export type Step = GeometricStep | AffineStep | TensorStep;
export type Transform = Step | Pipeline;

/** What pipelines and the loader accept: a transform, or an untagged function (see the header). */
export type TransformInput = Transform | GeometricTransform | BatchFunction;

/** A geometric step: applied to a tensor, its maps go through applyGeometry. */
export function geometric(label: string, geometry: GeometryOf): GeometricStep {
  const apply = (x: Tensor, rng: SeededRandom) => {
    const [b, , h, w] = batchDims(x, label);
    return applyGeometry(x, geometry(b, h, w, rng));
  };
  return Object.freeze(Object.assign(apply, { kind: 'geometric' as const, label, geometry }));
}

/** An affine step: `apply` on tensors, `onBytes` (see AffineStep) on the loader's uint8 bytes; both must agree. */
export function affine(label: string, onBytes: { scale: readonly number[]; shift: readonly number[] }, apply: BatchFunction): AffineStep {
  const scaled = Object.freeze({ scale: Object.freeze([...onBytes.scale]), shift: Object.freeze([...onBytes.shift]) });
  return Object.freeze(Object.assign((x: Tensor, rng: SeededRandom) => apply(x, rng), { kind: 'affine' as const, label, onBytes: scaled }));
}

/** An opaque step. */
export function tensorStep(label: string, apply: BatchFunction): TensorStep {
  return Object.freeze(Object.assign((x: Tensor, rng: SeededRandom) => apply(x, rng), { kind: 'tensor' as const, label }));
}

/** `input` as a tagged transform; a RangeError naming `what` if it is not a function. */
export function asTransform(input: TransformInput, what: string): Transform {
  if (typeof input !== 'function')
    throw new RangeError(`${what} must be a transform, a function (x, rng) => Tensor; got ${input === null ? 'null' : typeof input}`);
  const kind = (input as Partial<Transform>).kind;
  if (kind === 'geometric' || kind === 'affine' || kind === 'tensor' || kind === 'pipeline') return input as Transform;
  const label = input.name || 'transform';
  const hand = input as Partial<GeometricTransform>;
  if (typeof hand.geometry === 'function') {
    const maps = hand.geometry;
    return geometric(label, (b, h, w, rng) => maps.call(input, b, h, w, rng));
  }
  return tensorStep(label, input);
}

/**
 * The transforms applied left to right, freeing each intermediate result. Nested pipelines are
 * flattened and consecutive geometric steps fused into one, whose random draws happen in the
 * same order as when applied one by one, so the result is the same. A pipeline that comes down
 * to one geometric step is that step.
 */
export function pipeline(inputs: readonly TransformInput[]): Transform {
  return build(inputs, 'pipeline: step');
}

/** {@link pipeline} of the arguments. */
export function compose(...inputs: TransformInput[]): Transform {
  return build(inputs, 'compose: argument');
}

function build(inputs: readonly TransformInput[], what: string): Transform {
  const flat: Step[] = [];
  inputs.forEach((input, i) => {
    const t = asTransform(input, `${what} ${i}`);
    if (t.kind === 'pipeline') flat.push(...t.steps);
    else flat.push(t);
  });
  const steps: Step[] = [];
  for (let i = 0; i < flat.length; ) {
    if (flat[i]!.kind !== 'geometric') {
      steps.push(flat[i++]!);
      continue;
    }
    const run: GeometricStep[] = [];
    while (i < flat.length && flat[i]!.kind === 'geometric') run.push(flat[i++] as GeometricStep);
    steps.push(run.length === 1 ? run[0]! : fuse(run));
  }
  if (steps.length === 1 && steps[0]!.kind === 'geometric') return steps[0]!;
  return sequence(steps);
}

/** Geometric steps as one: the maps of each, chained, drawn in order. */
function fuse(run: readonly GeometricStep[]): GeometricStep {
  return geometric(run.map((s) => s.label).join(' + '), (b, h, w, rng) => {
    let g = run[0]!.geometry(b, h, w, rng);
    for (let i = 1; i < run.length; i++) g = chainGeometry(g, run[i]!.geometry(b, g.height, g.width, rng));
    return g;
  });
}

/** A pipeline of steps already flat and fused. */
function sequence(steps: readonly Step[]): Pipeline {
  const frozen = Object.freeze([...steps]);
  const apply = (x: Tensor, rng: SeededRandom) => {
    let current = x;
    for (const step of frozen) {
      const next = step(current, rng);
      if (next !== current && current !== x) current.dispose();
      current = next;
    }
    return current;
  };
  return Object.freeze(Object.assign(apply, { kind: 'pipeline' as const, steps: frozen }));
}

/**
 * A transform as its leading geometric step and the rest: `rest(applyGeometry(x, maps), rng)`,
 * with the maps drawn first from the same generator, gives exactly `transform(x, rng)`. The
 * loader's worker applies the geometric part; `rest` is null when nothing remains.
 */
export function splitGeometry(transform: TransformInput): { geometric: GeometricStep | null; rest: Transform | null } {
  const t = asTransform(transform, 'splitGeometry: transform');
  if (t.kind === 'geometric') return { geometric: t, rest: null };
  if (t.kind !== 'pipeline' || t.steps[0]?.kind !== 'geometric') return { geometric: null, rest: t };
  const others = t.steps.slice(1);
  return { geometric: t.steps[0], rest: others.length === 0 ? null : others.length === 1 ? others[0]! : sequence(others) };
}

/** The identity transform. */
export const identity: TensorStep = tensorStep('identity', (x) => x);
