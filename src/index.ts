/**
 * pokecheck as a library: `import { check, models } from 'pokecheck'`.
 *
 * The command line (src/cli) and the report (src/report) are clients of the
 * same modules; this file only chooses what is public. One section per
 * concern; a new public entry (a protocol-file loader, a property-test
 * runner) is one export line in its section. Test assertions are in
 * `pokecheck/testing` (src/testing.ts), apart so that a program that only
 * checks does not load them.
 */

// ---- checking -------------------------------------------------------------------------------
export { check, resolveModel, resolveConfig, CheckInputError, type CheckApiOptions, type CheckInput, type ResolvedModel } from './check/check.js';
export type { CheckResult, Counterexample, CounterexampleStep, PropertyStatus } from './check/result.js';
export type { ExploreProgress, SearchLimit } from './concurrency/explorer.js';
export { resultText, summaryLine, counterexampleText } from './check/format.js';
export { cutoffResult, runCutoffCheck, cutoffIneligible, type CutoffOutcome, type CutoffFailure, type CutoffCondition } from './check/cutoff.js';

// ---- protocol files in kernel C (docs/protocol-files.md) ------------------------------------------
export { loadProtocol, parseProtocol, ProtocolFile, ProtocolError, SHIPPED_PROTOCOLS, shippedProtocolPath } from './protocol/index.js';

// ---- property-test runs (fast-check) -----------------------------------------------------------
export * from './check/property.js';
export { sample, type SampleOptions, type SampleResult } from './check/sample.js';

// ---- the models pokecheck ships ---------------------------------------------------------------
export { MODELS as models, findModel } from '../models/index.js';

// ---- writing a model (docs/adding-a-model.md) -------------------------------------------------
export * from './model/index.js';
export type { CpuFields } from './concurrency/cpu-fields.js';
export { compileMachine, eventName, type CompiledMachine } from './concurrency/compile.js';
export {
  ModelConfigError,
  type ActorMachine,
  type CheckableModel,
  type ModelConfig,
  type ModelDefinition,
  type ModelOption,
  type ReferenceCheck,
  type SiteView,
  type StateGroup,
  type StepView,
  type Verdict,
} from './concurrency/model.js';
export type { PropertySpec, SuccessorSink, TransitionSystem } from './concurrency/system.js';

// ---- the version ----------------------------------------------------------------------------
export { VERSION } from './version.js';
