/**
 * CLI: turn a saved capture transcript into bpf-jit-oracle/1 fixtures.
 *
 *   node dist/scripts/capture/write-fixtures.js --transcript T.txt --host host.json --out DIR [--no-dis]
 *
 * Writes DIR/linux-<release>/<config>/<program>__<step>.json (+ .dis).
 * Exit 0 ok, 1 on a bad transcript, 2 on bad usage.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

import { parseTranscript } from './transcript.js';
import { buildFixtures, writeFixtures, type HostInfo } from './writer.js';

function usage(msg: string): never {
  process.stderr.write(`write-fixtures: ${msg}\nusage: write-fixtures --transcript FILE --host FILE --out DIR [--no-dis]\n`);
  process.exit(2);
}

function main(argv: string[]): void {
  let transcript = '';
  let host = '';
  let out = '';
  let dis: boolean | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined || v === '') usage(`${a} needs a value`);
      return v;
    };
    if (a === '--transcript') transcript = val();
    else if (a === '--host') host = val();
    else if (a === '--out') out = val();
    else if (a === '--no-dis') dis = false;
    else usage(`unknown argument: ${a}`);
  }
  if (!transcript || !host || !out) usage('--transcript, --host and --out are required');
  let hostInfo: HostInfo;
  try {
    hostInfo = JSON.parse(readFileSync(host, 'utf8')) as HostInfo;
  } catch (e) {
    process.stderr.write(`write-fixtures: cannot read ${host}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  try {
    const t = parseTranscript(readFileSync(transcript, 'utf8'));
    const label = relative(process.cwd(), resolve(transcript));
    const result = buildFixtures(t, hostInfo, { transcriptLabel: label, ...(dis === undefined ? {} : { disassemble: dis }) });
    const dir = writeFixtures(result, out);
    for (const w of result.warnings) process.stderr.write(`write-fixtures: warning: ${w}\n`);
    process.stdout.write(`write-fixtures: ${result.fixtures.length} fixtures in ${dir}\n`);
  } catch (e) {
    process.stderr.write(`write-fixtures: ${transcript}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

main(process.argv.slice(2));
