/**
 * The typed model layer: what a model is written against (docs/adding-a-model.md).
 *
 * - layout.ts: the state as named fields, shared and per CPU, packed for you;
 * - actions.ts: which actor took a step, typed, and the integer the engine stores;
 * - define.ts: a model's parts (initial state, steps, properties, printing) and
 *   the TransitionSystem made of them (`checkableModel`);
 * - rcu.ts: grace periods over the CPU records and RCU-delayed frees;
 * - sites.ts: patch sites whose bytes a CPU decodes and executes.
 */
export { defineLayout, Field, FieldArray, CpuField, CpuFieldArray, LayoutError, type Layout, type LayoutSpec, type FieldDecl, type FieldDecls } from './layout.js';
export { defineActions, type Action, type Actions, type ActorCounts } from './actions.js';
export { checkableModel, checkViolationsAgree, checkExpandAgrees, type ModelParts, type Property, type Step, type TypedModel } from './define.js';
export { GracePeriod, DelayedFrees, LIVE, DYING, FREED, LIFE_NAMES } from './rcu.js';
export { DecodedSites, type SiteDecl } from './sites.js';
