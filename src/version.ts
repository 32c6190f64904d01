/** pokecheck's version, printed by `pokecheck --version` and recorded in reports. */
export const VERSION = '0.1.0';
