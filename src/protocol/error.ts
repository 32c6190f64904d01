/**
 * A protocol file that pokecheck cannot take: C that does not parse, C
 * outside the documented subset (docs/protocol-files.md), or a protocol the
 * models cannot run. The message is one line, `FILE:LINE:COL: what`.
 */
export interface SourcePos {
  /** 1-based */
  readonly line: number;
  /** 1-based, in characters */
  readonly column: number;
  /** offset into the text */
  readonly offset: number;
}

export class ProtocolError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason.replace(/\s*\n\s*/g, ' ')}`);
    this.name = 'ProtocolError';
  }

  static at(file: string, pos: SourcePos, reason: string): ProtocolError {
    return new ProtocolError(file, pos.line, pos.column, reason);
  }
}
