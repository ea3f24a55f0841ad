/**
 * The messages between the exercises page (exercises.ts) and its worker (exercises-worker.ts): the page posts
 * `{ id, request }`, the worker answers `{ id, result }` or `{ id, error }`, one call at a time.
 */
import type { CheckResult, ExerciseId, SaliencyComparison } from '../src/teaching/exercises.js';

export interface ExerciseRequests {
  init: { modelUrl: string; imageUrl: string };
  check: { exercise: ExerciseId; source: string };
  saliency: { exercise: ExerciseId; source: string };
}

export interface ExerciseResults {
  init: { adapter: string; image: string };
  check: CheckResult;
  saliency: SaliencyComparison;
}

export type ExerciseOp = keyof ExerciseRequests;

export type ToExerciseWorker = { [K in ExerciseOp]: { id: number; op: K; request: ExerciseRequests[K] } }[ExerciseOp];

export type FromExerciseWorker = { id: number; result: unknown; error?: undefined } | { id: number; error: string; result?: undefined };
