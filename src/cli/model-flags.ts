/** The flags every model-taking command shares: the model named, and its own options (`--script`, `--level`, ...). */
import { findModel, MODELS } from '../../models/index.js';
import type { ModelDefinition } from '../concurrency/model.js';
import { UsageError } from './io.js';
import { strFlag, type Flags } from './options.js';

/** Every model's own options, declared as string flags (each is then checked against the model named). */
export function modelFlagSpecs(): Record<string, { type: 'string' }> {
  return Object.fromEntries(MODELS.flatMap((m) => m.options).map((o) => [o.name, { type: 'string' as const }]));
}

/** The model named by the first positional argument of `command`; a missing, unknown or extra argument is bad input. */
export function modelOf(command: string, positionals: string[]): ModelDefinition {
  const name = positionals[0];
  if (!name) throw new UsageError(`${command} needs a model (see \`pokecheck list\`)`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  const def = findModel(name);
  if (!def) throw new UsageError(`unknown model '${name}' (models: ${MODELS.map((m) => m.name).join(', ')})`);
  return def;
}

/** The model options given as flags, each checked to be one of `def`'s and, where it has a list, one of its values. */
export function modelOptions(def: ModelDefinition, flags: Flags): Record<string, string> {
  const options: Record<string, string> = {};
  for (const flag of Object.keys(modelFlagSpecs())) {
    const v = strFlag(flags, flag);
    if (v === undefined) continue;
    const o = def.options.find((x) => x.name === flag);
    if (!o) throw new UsageError(`--${flag} is not an option of ${def.name}`);
    if (o.values && !o.values.includes(v)) throw new UsageError(`--${flag} must be one of ${o.values.join(', ')}, got '${v}'`);
    options[flag] = v;
  }
  return options;
}
