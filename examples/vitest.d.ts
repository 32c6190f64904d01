// The types of pokecheck's matchers; useMatchers(expect) adds them at run time.
import 'vitest';
import type { PokecheckMatchers } from 'pokecheck/testing';

declare module 'vitest' {
  interface Matchers<T = any> extends PokecheckMatchers<T> {}
}
