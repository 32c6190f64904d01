/** How a reference check is named in file names, anchors and titles. */
import type { ReferenceOutcome } from '../check/reference.js';
import { optionsText } from '../check/reference.js';

/** `tailcall-poke_v5.10_3cpu`, `tailcall-poke_v5.10_level-byte_2cpu`: safe as a file name and an HTML id. */
export function checkSlug(o: ReferenceOutcome): string {
  const opts = Object.entries(o.check.options ?? {}).map(([k, v]) => `${k}-${v}`);
  return [o.model, o.check.protocol, ...opts, o.check.every ? 'everycpu' : `${o.check.cpus}cpu`].join('_').replace(/[^A-Za-z0-9._-]/g, '-');
}

/** `tailcall-poke --protocol v5.10 --cpus 3 --level byte`: the command line that reproduces the check. */
export function checkTitle(o: ReferenceOutcome): string {
  const opts = optionsText(o.check.options);
  return `${o.model} --protocol ${o.check.protocol} --cpus ${o.check.every ? 'every' : o.check.cpus}${opts ? ` ${opts}` : ''}`;
}

/** `v5.10`, or `v5.10 --level byte --poke memcpy` when the check has options. */
export function protocolLabel(o: ReferenceOutcome): string {
  const opts = optionsText(o.check.options);
  return opts ? `${o.check.protocol} ${opts}` : o.check.protocol;
}
