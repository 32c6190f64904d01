/**
 * `pokecheck graph <model> [--protocol P] [--cpus N] [--kind K] [--format dot|svg]`:
 * prints one graph (src/graph/*).
 *
 * Kinds: `protocol` (default): the A-D picture, reachable states grouped by
 * the poke site's state; `lanes`: a counterexample as lanes (`--property`
 * picks which violated property; default the first found); or an actor's
 * name (`cpu`, `site`, `updater`): that actor's xstate machine.
 */
import { runCheck } from '../check/result.js';
import { actorMachines } from '../graph/actors.js';
import type { DrawnGraph } from '../graph/graph.js';
import { renderSvg } from '../graph/graphviz.js';
import { lanesDot } from '../graph/lanes.js';
import { machineGraph } from '../graph/machine.js';
import { protocolDot, protocolGraph } from '../graph/protocol.js';
import { buildModel } from '../check/reference.js';
import { modelFlagSpecs, modelOf, modelOptions } from './model-flags.js';
import { UsageError, type Io } from './io.js';
import { intFlag, parse, strFlag } from './options.js';

export async function graphCommand(args: string[], io: Io): Promise<number> {
  const modelFlags = modelFlagSpecs();
  const { flags, positionals } = parse(args, {
    protocol: { type: 'string' },
    cpus: { type: 'string' },
    kind: { type: 'string' },
    format: { type: 'string' },
    property: { type: 'string' },
    symmetry: { type: 'boolean' },
    'max-states': { type: 'string' },
    ...modelFlags,
  });
  const def = modelOf('graph', positionals);
  const options = modelOptions(def, flags);
  const format = strFlag(flags, 'format') ?? 'svg';
  if (format !== 'dot' && format !== 'svg') throw new UsageError(`--format must be dot or svg, got '${format}'`);
  const m = buildModel(def, strFlag(flags, 'protocol') ?? def.defaultProtocol, intFlag(flags, 'cpus', 1, 64) ?? def.defaultCpus, options);
  const actors = actorMachines(m);
  const kinds = [...(m.group ? ['protocol'] : []), 'lanes', ...actors.map((a) => a.name)];
  const kind = strFlag(flags, 'kind') ?? 'protocol';
  if (kind === 'protocol' && !m.group) {
    throw new UsageError(`${def.name}${Object.keys(options).length ? ` ${Object.entries(options).map(([k, v]) => `--${k} ${v}`).join(' ')}` : ''} does not group its states, so it has no protocol picture (kinds: ${kinds.join(', ')})`);
  }
  if (!kinds.includes(kind)) throw new UsageError(`--kind ${kind} is not available for ${def.name} --protocol ${m.protocol} (kinds: ${kinds.join(', ')})`);
  if (flags.property !== undefined && kind !== 'lanes') throw new UsageError('--property goes with --kind lanes');
  const maxStates = intFlag(flags, 'max-states', 1);
  let g: DrawnGraph;
  if (kind === 'protocol') {
    g = protocolDot(protocolGraph(m, { maxStates }));
  } else if (kind === 'lanes') {
    const r = runCheck(m, { symmetry: !!flags.symmetry, maxStates });
    const want = strFlag(flags, 'property');
    const c = want ? r.counterexamples.find((x) => x.property === want) : r.counterexamples[0];
    if (!c) {
      const ids = r.counterexamples.map((x) => x.property);
      throw new UsageError(`no counterexample${want ? ` for ${want}` : ''}: ${m.model} --protocol ${m.protocol} --cpus ${m.cpus} verdict ${r.verdict}${ids.length ? ` (violated: ${ids.join(', ')})` : ''}`);
    }
    g = lanesDot(c, m.cpus);
  } else {
    g = machineGraph(actors.find((a) => a.name === kind)!);
  }
  io.out((format === 'dot' ? g.dot : await renderSvg(g.dot, g.engine)).trimEnd());
  return 0;
}
