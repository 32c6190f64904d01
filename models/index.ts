/** Every model pokecheck ships, in the order `list` and `check --all` show them. */
import type { ModelDefinition } from '../src/concurrency/model.js';
import { tailcallPoke } from './tailcall-poke.js';

export const MODELS: readonly ModelDefinition[] = [tailcallPoke];

export function findModel(name: string): ModelDefinition | undefined {
  return MODELS.find((m) => m.name === name);
}
