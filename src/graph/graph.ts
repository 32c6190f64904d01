/** A graph ready to be laid out: DOT text plus what the report and the CLI say about it. */
import type { Engine } from './graphviz.js';

export type GraphKind = 'protocol' | 'lanes' | 'machine';

export interface DrawnGraph {
  kind: GraphKind;
  /** One line saying what the picture shows. */
  title: string;
  dot: string;
  /** The layout chosen for the graph's size (see graphviz.ts). */
  engine: Engine;
  nodes: number;
  edges: number;
}
